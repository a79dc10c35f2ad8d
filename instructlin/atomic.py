"""Atomic writes: a recognisable temp file (or folder) beside the target, then a rename into place.

Temp entries are named ``.instructlin-tmp-<host>-<pid>-<random><suffix>`` (``host``: a short hash of
the machine's name). They are removed when the write fails, when SIGTERM arrives during the write
(main thread only), and otherwise by the next write into the same folder once their process is gone
(after ``kill -9`` or a power cut). Files are created as ``open()`` would create them: mode
0o666 minus the umask (the kernel applies the umask, so it is never read or changed here).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TEMP_PREFIX = ".instructlin-tmp-"
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_TEMP_NAME = re.compile(r"^\.instructlin-tmp-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{8}(?P<suffix>.*)$")
_REPLACED = ".replaced-"
#: errno values that mean "the disk, the quota or the file size limit is full": the user can fix those.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class _Terminated(BaseException):
    """Raised by the SIGTERM handler, so ``finally`` blocks remove temp files before the process dies."""


def temp_name(suffix: str = "") -> str:
    """A fresh temp name owned by this process (host and pid in the name, so stale ones can be found)."""
    return f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def owner_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is alive (another user's counts as alive)."""
    if pid <= 0 or pid == os.getpid():
        return pid > 0
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, but another user's
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete this machine's temp entries in ``folder`` whose process has died; returns what was removed.

    A folder renamed away while a map folder was being swapped (``.replaced-<name>``, by instructlin
    before maps were saved file by file) is renamed back when ``<name>`` is missing, so nothing is lost.
    """
    if os.name != "posix":  # os.kill(pid, 0) is not an existence check elsewhere
        return []
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or match["host"] != _HOST or owner_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        suffix = match["suffix"]
        if suffix.startswith(_REPLACED) and not (path.parent / suffix[len(_REPLACED):]).exists():
            with suppress(OSError):  # the swap never finished: the old folder goes back
                os.rename(path, path.parent / suffix[len(_REPLACED):])
            continue
        _remove(path)
        removed.append(path)
    return removed


def _previous_handler():
    """The SIGTERM handler to restore, or None where installing ours is impossible or unwanted."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None or previous == signal.SIG_IGN:  # set outside Python, or deliberately ignored
        return None
    return previous


@contextmanager
def cleanup_on_sigterm() -> Iterator[None]:
    """While the body runs, SIGTERM unwinds it (``finally`` blocks remove temp files), then kills as before.

    Installed only in the main thread; the previous handler is restored on the way out. With the default
    handler the process then dies by SIGTERM (exit status 143 / -15); a Python handler is called instead
    and, if it returns, :class:`InterruptedError` reports the abandoned write.
    """
    previous = _previous_handler()
    if previous is None:
        yield
        return

    def handler(signum, frame):
        raise _Terminated

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)  # default handler: the process ends here
        raise InterruptedError("SIGTERM interrupted a write; its temp file was removed.") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def disk_full_error(err: OSError, target: Path) -> ValueError | None:
    """A :class:`~instructlin.sources.datasets.DataError` naming ``target`` and the fix when ``err`` is a full disk."""
    if err.errno not in _FULL:
        return None
    from instructlin.errors import DataError

    return DataError(f"Cannot write {target}: {err.strerror or os.strerror(err.errno)} (nothing was written). "
                     "Free some space on that disk, or choose another --output.")


def _new_temp_file(folder: Path, suffix: str) -> tuple[Path, int]:
    """A new empty temp file and its mode: 0o666 minus the umask, as open() gives (the umask is not read)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        path = folder / temp_name(suffix)
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        try:
            return path, os.fstat(fd).st_mode & 0o7777
        finally:
            os.close(fd)


def _set_mode(path: Path, mode: int) -> None:
    """Give ``path`` the mode open() would have, where its writer made it anew (some use 0o600 temp files)."""
    if os.stat(path).st_mode & 0o7777 != mode:
        os.chmod(path, mode)


def atomic_write(target: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``target``, so readers never see half a file.

    ``tmp_path`` ends in ``target``'s suffix. A full disk raises DataError; nothing is left behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    tmp: Path | None = None
    with cleanup_on_sigterm():
        try:
            tmp, mode = _new_temp_file(target.parent, target.suffix)
            write(str(tmp))
            _set_mode(tmp, mode)
            os.replace(tmp, target)
        except OSError as err:
            if full := disk_full_error(err, target):
                raise full from err
            raise
        finally:
            if tmp is not None:
                _remove(tmp)
    return target


def atomic_files(folder: str | Path, writers: dict[str, Callable[[str], object]]) -> Path:
    """Write each named file of ``folder`` through a temp file beside it, then rename them all into place.

    Only these files change: the folder (its owner, mode and other entries, sub-folders included) is never
    re-created, moved or copied. Each ``writers[name](tmp_path)`` writes one file; none is renamed until
    all are written, so a failure (a full disk, SIGTERM) leaves the old files as they were and no temp behind.
    The renames are one after another: a reader that needs them to agree checks (see map_io's weights hash).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)
    temps: list[tuple[Path, Path]] = []
    with cleanup_on_sigterm():
        try:
            for name, write in writers.items():
                tmp, mode = _new_temp_file(folder, Path(name).suffix)
                temps.append((tmp, folder / name))
                write(str(tmp))
                _set_mode(tmp, mode)
            for tmp, target in temps:
                os.replace(tmp, target)
        except OSError as err:
            if full := disk_full_error(err, folder):
                raise full from err
            raise
        finally:
            for tmp, _ in temps:
                _remove(tmp)
    return folder
