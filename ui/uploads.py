"""The upload store: files named by their content hash in one folder kept under a size cap."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from instructlin.atomic import atomic_write

CAP_VARIABLE = "INSTRUCTLIN_UPLOAD_CAP_MB"
DEFAULT_CAP_MB = 500.0


def cap_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The store's size cap: ``INSTRUCTLIN_UPLOAD_CAP_MB`` megabytes (500 unless the operator says otherwise)."""
    raw = (os.environ if environ is None else environ).get(CAP_VARIABLE, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_CAP_MB
    except ValueError:
        megabytes = DEFAULT_CAP_MB
    return int(max(megabytes, 0.0) * 2**20)


def store(folder: Path, name: str, content: bytes, cap: int) -> Path:
    """Write ``content`` under its hash (keeping the upload's suffix), then prune the store to ``cap`` bytes."""
    suffix = Path(name).suffix.lower()
    path = folder / f"{hashlib.sha256(content).hexdigest()[:20]}{suffix}"
    if path.exists():
        path.touch()  # uploaded again: now the newest, so pruning keeps it longest
    else:  # two tabs may upload at once: each writes its own temp file
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(content))
    prune(folder, cap, keep=path)
    return path


def prune(folder: Path, cap: int, *, keep: Path) -> list[Path]:
    """Remove the oldest stored files (by mtime) until the store fits in ``cap`` bytes; never ``keep``."""
    entries = []
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_file():  # temp files of writes still under way
            continue
        try:
            info = path.stat()
        except FileNotFoundError:  # another session pruned it first
            continue
        entries.append((info.st_mtime, path, info.st_size))
    total = sum(size for _, _, size in entries)
    removed = []
    for _, path, size in sorted(entries):
        if total <= cap:
            break
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed
