"""One sharded run at a time per output folder: a lock file beside the manifest, created atomically.

Two runs into one folder would each keep their own manifest and leave the shards of two maps mixed. The
lock (``instructlin-shards.lock``, JSON naming pid, host, start time and a random token) is created with
``O_CREAT | O_EXCL``, so exactly one run gets it; the other is refused in one line naming the holder. A
lock left by a process that died on this machine (``kill -9``, a power cut) is taken over with a warning;
one from another machine is never guessed about: the message says how to remove it by hand.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any

from instructlin.atomic import TEMP_PREFIX, owner_alive, remove_stale_temps, temp_name
from instructlin.errors import DataError

LOCK_FILE = "instructlin-shards.lock"
logger = logging.getLogger(__name__)


def _read(path: Path) -> dict[str, Any] | None:
    """The holder a lock file names, or None where it is gone, being written, or not ours."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


class FolderLock:
    """The lock of one output folder, held from :meth:`acquire` to :meth:`release` (or the ``with`` block)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(), "token": secrets.token_hex(8),
                       "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.held = False

    def _create(self) -> bool:
        """Create the lock file with our holder in it; False where it exists already."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.holder, fh)
        return True

    def _take_over(self, stale: dict[str, Any]) -> None:
        """Move a dead process's lock away, only if it is still that one (a live run may have just taken it)."""
        moved = self.path.parent / temp_name(".lock")
        try:
            os.rename(self.path, moved)
        except FileNotFoundError:
            return
        if _read(moved) != stale:  # another run took over first: give its lock back
            try:
                os.link(moved, self.path)
            except OSError:
                pass
        else:
            logger.warning("Took over the lock of run pid %s on this machine (started %s), which is gone; "
                           "its finished shards are in the manifest.", stale.get("pid"), stale.get("started"))
        moved.unlink(missing_ok=True)

    def acquire(self) -> FolderLock:
        """Take the lock, or raise a DataError naming the run that holds it and what to do."""
        for _ in range(3):
            if self._create():
                self.held = True
                return self
            holder = _read(self.path)
            if holder and holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int) \
                    and not owner_alive(holder["pid"]):
                self._take_over(holder)
                continue
            if holder is None and not self.path.exists():
                continue  # released in the meantime
            break
        holder = _read(self.path) or {}
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"
        raise DataError(f"Another instructlin run ({who}) is writing into {self.path.parent}; wait for it to "
                        "end, or write to another folder. If no such run is alive, remove "
                        f"{self.path}.")

    def release(self) -> None:
        """Remove the lock file, if it is still ours."""
        if self.held and _read(self.path) == self.holder:
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def remove_worker_temps(folder: Path, wait_s: float = 5.0) -> None:
    """Remove the temp files of workers of an ended run, waiting up to ``wait_s`` for them to exit."""
    deadline = time.monotonic() + wait_s
    remove_stale_temps(folder)
    while any(name.startswith(TEMP_PREFIX) for name in os.listdir(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
        remove_stale_temps(folder)
