"""Atomic outputs (instructlin.atomic): temp files that go on errors, SIGTERM and the next write after kill -9."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from instructlin.atomic import TEMP_PREFIX, atomic_write, temp_name
from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.io.streaming import map_file
from tests.map_files import ROOT, D, hidden, small_map


def test_atomic_write_turns_enospc_into_a_data_error(tmp_path):
    def fill(tmp: str) -> None:
        Path(tmp).write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DataError, match="No space left on device.*Free some space"):
        atomic_write(tmp_path / "out.json", fill)
    assert list(tmp_path.iterdir()) == []


CHILD = """
import sys, time
from instructlin.core.mapping import InstructionMap
from instructlin.io.streaming import map_file

def progress(done, total):
    print("writing", flush=True)
    time.sleep(60)

map_file(InstructionMap.load(sys.argv[1]), sys.argv[2], sys.argv[3], chunk_size=100, progress=progress)
"""


def _kill_while_writing(map_dir: Path, folder: Path, sig: int) -> int:
    np.save(folder / "in.npy", np.ones((1000, D), np.float32))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(map_dir), str(folder / "in.npy"),
                              str(folder / "out.npy")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        assert len(hidden(folder)) == 1  # the temp output is there while writing
        child.send_signal(sig)
        return child.wait(timeout=120)  # a loaded CI machine is slow to start the child's interpreter
    finally:
        child.kill()
        child.stdout.close()


def test_sigterm_while_mapping_leaves_no_temp_file_and_still_kills(tmp_path_factory, tmp_path):
    map_dir = small_map(tmp_path_factory.mktemp("maps"))
    assert _kill_while_writing(map_dir, tmp_path, signal.SIGTERM) == -signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_next_write_removes_temp_files_of_killed_processes_only(tmp_path_factory, tmp_path):
    map_dir = small_map(tmp_path_factory.mktemp("maps"))
    assert _kill_while_writing(map_dir, tmp_path, signal.SIGKILL) == -signal.SIGKILL
    (stale,) = hidden(tmp_path)  # kill -9 cannot be cleaned up at the time
    assert stale.startswith(TEMP_PREFIX)
    live = tmp_path / temp_name(".npy")  # a write in progress in this (live) process
    live.write_bytes(b"busy")
    (tmp_path / ".tmp-not-ours.npy").write_bytes(b"someone else's")
    map_file(InstructionMap.load(map_dir), tmp_path / "in.npy", tmp_path / "out.npy")
    assert hidden(tmp_path) == sorted([live.name, ".tmp-not-ours.npy"])
    assert np.load(tmp_path / "out.npy").shape == (1000, D)


def test_sigterm_handler_is_restored_and_skipped_off_the_main_thread(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    seen = {}

    def write(tmp: str) -> None:
        seen[threading.current_thread().name] = signal.getsignal(signal.SIGTERM)
        Path(tmp).write_text("x")

    atomic_write(tmp_path / "a.txt", write)
    worker = threading.Thread(target=atomic_write, args=(tmp_path / "b.txt", write), name="worker")
    worker.start()
    worker.join()
    assert signal.getsignal(signal.SIGTERM) == before
    assert seen["MainThread"] not in (before, None) and seen["worker"] == before
    assert (tmp_path / "b.txt").read_text() == "x"


def test_temp_names_are_recognisable_and_carry_the_pid():
    name = temp_name(".npy")
    assert name.startswith(TEMP_PREFIX) and f"-{os.getpid()}-" in name and name.endswith(".npy")
    assert temp_name(".npy") != name
