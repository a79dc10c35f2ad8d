"""Output paths checked before any work, so hours of encoding never end in "cannot write there"."""

from __future__ import annotations

import os
from pathlib import Path

from instructlin.errors import DataError


def check_output_file(path: str, *, suffix: str | None = None, flag: str = "--output") -> None:
    """Refuse an output file that could not be written: wrong suffix, an existing folder, or a place where
    no file can be made (under a file, or in a folder that is not writable)."""
    target = Path(path)
    if suffix and target.suffix != suffix:
        raise DataError(f"{flag} {path!r} must end in {suffix}.")
    if target.is_dir():
        raise DataError(f"{flag} {path} is a folder; give a file name, such as {target / 'result'}{suffix or '.json'}.")
    _check_writable(target.parent, target, flag)


def check_output_folder(path: str, *, replaced_whole: bool = False, hint: str = "", flag: str = "--output") -> None:
    """Refuse an output folder that could not be written: an existing file, or a place that is not writable.

    ``replaced_whole``: the folder is built beside itself and swapped in (a saved map), so its parent must
    be writable too; else files are written inside it.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise DataError(f"{flag} {path} is a file; {hint or 'give a folder'}.")
    _check_writable(target.parent if replaced_whole or not target.is_dir() else target, target, flag)


def _check_writable(folder: Path, target: Path, flag: str) -> None:
    """The nearest existing folder at or above ``folder`` (missing ones are made) must be a writable folder."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DataError(f"{flag} {target}: {folder} is a file, so nothing can be written under it; "
                        "choose another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"{flag} {target}: the folder {folder} is not writable; choose another path or make it "
                        "writable.")
