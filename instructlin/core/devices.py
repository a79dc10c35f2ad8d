"""Which device a model or a map runs on: ``auto`` resolved once, in one place."""

from __future__ import annotations

from instructlin.core.choices import Choice
from instructlin.errors import EncoderUnavailableError
from instructlin.extras import require


class Device(Choice):
    """Devices a run may ask for; ``auto`` picks the best present."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


DEVICE_CHOICES: tuple[str, ...] = Device.values()


def resolve_device(device: str | Device = Device.AUTO) -> str:
    """``auto`` becomes cuda, then mps, then cpu, whichever is present first; cuda asked for must exist."""
    try:
        device = Device(device)
    except ValueError:
        raise ValueError(f"Unknown device {device!r}; choose one of {', '.join(DEVICE_CHOICES)}.") from None
    torch = require("torch", purpose="choosing a device")

    if device is Device.AUTO:
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device is Device.CUDA and not torch.cuda.is_available():
        raise EncoderUnavailableError("device='cuda' was asked for but CUDA is not available; "
                                      "use device='auto' or 'cpu'.")
    if device is Device.MPS and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EncoderUnavailableError("device='mps' was asked for but Apple's MPS backend is not available; "
                                      "use device='auto' or 'cpu'.")
    return device.value
