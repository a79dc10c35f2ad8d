"""'Try the local cache, probe the hub, then download', written once for models and datasets."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TypeVar

HUB_HOST = "huggingface.co"
T = TypeVar("T")


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers within ``timeout`` seconds (fails fast offline)."""
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def hub_offline() -> bool:
    """Whether the user switched the hub off (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def local_or_download(
    download: Callable[..., T], *, unavailable: Callable[[], Exception], timeout: float = 3.0,
    reachable: Callable[[float], bool] | None = None,
) -> T:
    """``download(local_files_only=True)``; failing that, ``download()`` if the hub answers (``reachable``,
    default :func:`hub_reachable`), else raise ``unavailable()`` within ``timeout`` s instead of hanging."""
    probe = reachable or hub_reachable
    try:
        return download(local_files_only=True)
    except Exception:  # not cached yet: download, but only if the hub answers at all
        if hub_offline() or not probe(timeout):
            raise unavailable() from None
        return download()
