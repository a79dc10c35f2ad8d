"""The .npy path of the streaming map (instructlin.io.npy_stream): exact output, full disks, bounded memory."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.io.direct_io import ALIGN
from instructlin.io.streaming import map_file
from tests.map_files import ROOT, D, expected, hidden, run_main, small_map
from tests.reliability import Case, params

MAP_SURFACE = "instructlin map / map_file"


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory):
    return small_map(tmp_path_factory.mktemp("maps"))


@pytest.fixture(scope="module")
def model(map_dir) -> InstructionMap:
    return InstructionMap.load(map_dir)


@pytest.mark.parametrize("dtype", ["<f2", "<f4", "<f8", ">f4"])
@pytest.mark.parametrize("chunk_size", [1, 7, 50, 1000])
def test_npy_output_matches_the_map_for_any_float_dtype_and_chunk(model, tmp_path, dtype, chunk_size):
    X = np.random.default_rng(2).normal(size=(50, D)).astype(dtype)
    np.save(tmp_path / "in.npy", X)
    seen = []
    n = map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=chunk_size,
                 progress=lambda done, total: seen.append((done, total)))
    out = np.load(tmp_path / "out.npy")
    assert n == 50 and out.dtype == np.float32 and out.shape == (50, D)
    np.testing.assert_allclose(out, expected(model, X), rtol=1e-5, atol=1e-5)
    assert seen[-1] == (50, 50) and len(seen) == -(-50 // chunk_size)


def test_empty_npy_gives_a_valid_empty_npy(model, tmp_path):
    np.save(tmp_path / "in.npy", np.zeros((0, D), np.float32))
    assert map_file(model, tmp_path / "in.npy", tmp_path / "out.npy") == 0
    assert np.load(tmp_path / "out.npy").shape == (0, D)


@pytest.mark.parametrize("rows", [0, 1, 63, 64, 65, 1000])
def test_any_tail_gives_a_valid_npy_with_a_header_padded_to_one_aligned_block(model, tmp_path, rows):
    """Whole aligned blocks go out directly, the unaligned tail the ordinary way; numpy reads the result."""
    X = np.random.default_rng(rows).standard_normal((rows, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=64)
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (rows, D)
    np.testing.assert_allclose(out, expected(model, X), rtol=1e-5, atol=1e-5)
    assert (tmp_path / "out.npy").stat().st_size == ALIGN + rows * D * 4


# --- full disks: a DataError naming the output, never SIGBUS ----------------------------------------------------

DISK_CASES = [
    Case("the disk fills up while `instructlin map` writes a .npy (ENOSPC)", MAP_SURFACE,
         "DataError naming the output and the fix (free space or another --output); exit 2; no temp file left",
         {"errno": errno.ENOSPC}),
    Case("the disk quota runs out while `instructlin map` writes a .npy (EDQUOT)", MAP_SURFACE,
         "DataError naming the output and the fix (free space or another --output); exit 2; no temp file left",
         {"errno": errno.EDQUOT}),
]


def failing_writes(fail_at: int, code: int, calls: list[int]):
    """An ``os.write`` that fails with ``code`` at its ``fail_at``-th write to a file (not stdout/stderr)."""
    real = os.write

    def write(fd, data):
        if fd > 2:
            calls.append(len(memoryview(data).cast("B")))
            if len(calls) == fail_at:
                raise OSError(code, os.strerror(code))
        return real(fd, data)

    return write


@pytest.mark.parametrize("case", params(DISK_CASES))
def test_full_disk_is_a_data_error_naming_the_output(case, map_dir, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "in.npy", np.ones((40, D), np.float32))
    calls: list[int] = []
    monkeypatch.setattr(os, "write", failing_writes(3, case.data["errno"], calls))  # header, block 1, block 2
    target = tmp_path / "out.npy"
    code = run_main(["map", "--map", str(map_dir), "--input", str(tmp_path / "in.npy"), "--output", str(target),
                     "--chunk-size", "16", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(target) in err and "Free some space" in err and "--output" in err, err
    assert len(calls) == 3 and not target.exists() and hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate on this platform")
def test_output_space_is_reserved_first_so_a_full_disk_stops_before_any_work(model, tmp_path, monkeypatch):
    np.save(tmp_path / "in.npy", np.ones((40, D), np.float32))
    reserved, writes = [], []

    def no_space(fd, offset, size):
        reserved.append(size)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    monkeypatch.setattr(os, "write", failing_writes(0, errno.EIO, writes))
    with pytest.raises(DataError, match="Free some space"):
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=16)
    assert reserved == [ALIGN + 40 * D * 4] and len(writes) == 1  # the header only: no block was mapped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_file_size_limit_is_an_error_message_not_a_crash(map_dir, tmp_path):
    """A real failing write (ulimit -f) in a child process: the old memmap output died with a traceback."""
    import resource

    np.save(tmp_path / "in.npy", np.ones((4000, D), np.float32))  # 128 kB in and out

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))

    target = tmp_path / "out.npy"
    run = subprocess.run([sys.executable, "-m", "instructlin", "map", "--map", str(map_dir), "--input",
                          str(tmp_path / "in.npy"), "--output", str(target), "--chunk-size", "500", "--quiet"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, preexec_fn=limit,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("instructlin: error: Cannot write") and str(target) in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not target.exists() and hidden(tmp_path) == []


# --- memory: bounded by the block, not by the file -----------------------------------------------------------------

MEMORY_CHILD = """
import sys
from instructlin.core.mapping import InstructionMap
from instructlin.io.streaming import map_file

def hwm_mb():  # VmHWM: ru_maxrss of a child keeps its parent's peak across fork and exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

model = InstructionMap.load(sys.argv[1])
before = hwm_mb()
map_file(model, sys.argv[2], sys.argv[3], chunk_size=2048)
print(hwm_mb() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc")
def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    d, rows = 256, 150_000  # 146 MB in, 146 MB out
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, d)).astype(np.float32)
    InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X).save(tmp_path / "map")
    block = rng.normal(size=(1000, d)).astype(np.float32).tobytes()
    with open(tmp_path / "in.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (rows, d)})
        for _ in range(rows // 1000):
            fh.write(block)
    run = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(tmp_path / "map"), str(tmp_path / "in.npy"),
                          str(tmp_path / "out.npy")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    grew_mb = float(run.stdout.split()[-1])
    assert grew_mb < 40, f"peak RSS grew by {grew_mb:.0f} MB while mapping a 146 MB file in 2 MB blocks"
    assert (tmp_path / "out.npy").stat().st_size == ALIGN + rows * d * 4  # the header fills one aligned block
