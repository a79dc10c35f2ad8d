"""Streaming map regressions (issue 8): bounded memory, explicit I/O, full disks, signals, Parquet, umask."""

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
import threadpoolctl

from instructlin import atomic
from instructlin.atomic import TEMP_PREFIX, atomic_write, remove_stale_temps, temp_name
from instructlin.cli.commands import main
from instructlin.core.map_io import CONFIG_FILE, WEIGHTS_FILE, load_map
from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.io import overlap
from instructlin.io.direct_io import ALIGN
from instructlin.io.streaming import map_file
from tests.reliability import Case, params

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
D = 8
MAP_SURFACE = "instructlin map / map_file"
REFUSED = "DataError: one line, exit 2; no output and no temp file left"


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, D)).astype(np.float32)
    model = InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X @ rng.normal(size=(D, D)) + 0.5)
    return model.save(tmp_path_factory.mktemp("maps") / "map")


@pytest.fixture(scope="module")
def model(map_dir) -> InstructionMap:
    return InstructionMap.load(map_dir)


def expected(model, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X @ np.asarray(model.coef_, dtype=np.float32).T + np.asarray(model.intercept_, dtype=np.float32)


def run_main(args: list[str]) -> int:
    """``instructlin`` in this process: its exit code, whether returned or raised by argparse."""
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def hidden(folder: Path) -> list[str]:
    """Hidden entries (temp files of any naming) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def parquet_of(path: Path, vectors, kind=None, **extra) -> Path:
    kind = kind or pa.list_(pa.float32())
    columns = {"id": pa.array([f"row-{i}" for i in range(len(vectors))], pa.string()),
               "embedding": pa.array(list(vectors) if len(vectors) else [], type=kind), **extra}
    pq.write_table(pa.table(columns), path)
    return path


def bad_input(folder: Path, kind: str) -> Path:
    """One malformed embeddings file, by name (the Case data say which)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, D)).astype(np.float32)
    if kind == "fortran":
        np.save(folder / "in.npy", np.asfortranarray(X))
    elif kind == "object":
        np.save(folder / "in.npy", np.array([[1.0, "a"]] * 3, dtype=object), allow_pickle=True)
    elif kind == "int":
        np.save(folder / "in.npy", np.arange(5 * D).reshape(5, D))
    elif kind == "3d":
        np.save(folder / "in.npy", X.reshape(5, 2, 4))
    elif kind == "truncated":
        np.save(folder / "in.npy", X)
        (folder / "in.npy").write_bytes((folder / "in.npy").read_bytes()[:-10])
    elif kind == "good-npy":
        np.save(folder / "in.npy", X)
    elif kind == "nan-npy":
        X[3, 2] = np.nan
        np.save(folder / "in.npy", X)
    elif kind == "inf-parquet":
        X[4, 0] = np.inf
        return parquet_of(folder / "in.parquet", X)
    elif kind == "null-vector":
        return parquet_of(folder / "in.parquet", [*X[:2], None, *X[3:]])
    elif kind == "ragged":
        return parquet_of(folder / "in.parquet", [X[0], X[1][:5], *X[2:]])
    elif kind == "strings":
        pq.write_table(pa.table({"embedding": ["a", "b"]}), folder / "in.parquet")
        return folder / "in.parquet"
    return folder / "in.npy"


BAD_INPUT_CASES = [
    Case("`--chunk-size -1`", MAP_SURFACE, f"{REFUSED}; the message names --chunk-size, the value and the range",
         {"file": "good-npy", "args": ["--chunk-size", "-1"], "says": ["--chunk-size", "-1"]}),
    Case("`--chunk-size 0`", MAP_SURFACE, f"{REFUSED}; the message names --chunk-size, the value and the range",
         {"file": "good-npy", "args": ["--chunk-size", "0"], "says": ["--chunk-size", "got 0"]}),
    Case("a .npy saved in Fortran (column) order", MAP_SURFACE,
         f"{REFUSED}; the message says to re-save it with np.ascontiguousarray",
         {"file": "fortran", "says": ["Fortran", "ascontiguousarray"]}),
    Case("a .npy of Python objects (pickled)", MAP_SURFACE,
         f"{REFUSED}; nothing is unpickled; the message asks for float16/32/64",
         {"file": "object", "says": ["float16, float32 or float64"]}),
    Case("a .npy of integers", MAP_SURFACE, f"{REFUSED}; the message asks for float16/32/64",
         {"file": "int", "says": ["int64", "float32"]}),
    Case("a 3-D .npy", MAP_SURFACE, f"{REFUSED}; the message gives the shape and expects (n, d)",
         {"file": "3d", "says": ["(5, 2, 4)", "(n, d)"]}),
    Case("a truncated .npy (bytes missing at the end)", MAP_SURFACE,
         f"{REFUSED}; the message says how many bytes are missing", {"file": "truncated", "says": ["truncated"]}),
    Case("a .npy with a NaN in one row", MAP_SURFACE, f"{REFUSED}; the message names the row",
         {"file": "nan-npy", "says": ["row 3", "NaN"]}),
    Case("a Parquet embeddings column with an infinite value", MAP_SURFACE, f"{REFUSED}; the message names the row",
         {"file": "inf-parquet", "says": ["row 4", "infinity"]}),
    Case("a Parquet embeddings column with a null row", MAP_SURFACE,
         f"{REFUSED}; the message names the column and the number of nulls",
         {"file": "null-vector", "says": ["'embedding'", "1 missing"]}),
    Case("a Parquet embeddings column with vectors of different lengths", MAP_SURFACE,
         f"{REFUSED}; the message names the column and both lengths",
         {"file": "ragged", "says": ["'embedding'", "different lengths"]}),
    Case("a Parquet embeddings column of strings", MAP_SURFACE,
         f"{REFUSED}; the message names the column, its type and --column",
         {"file": "strings", "says": ["'embedding'", "string", "--column"]}),
]


@pytest.mark.parametrize("case", params(BAD_INPUT_CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case, map_dir, tmp_path, capsys):
    source = bad_input(tmp_path, case.data["file"])
    target = tmp_path / f"out{source.suffix}"
    code = run_main(["map", "--map", str(map_dir), "--input", str(source), "--output", str(target), "--quiet",
                     *case.data.get("args", [])])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("instructlin: error: ") and err.count("\n") == 1, err
    assert all(text in err for text in case.data["says"]), err
    assert not target.exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("chunk_size", [1.5, "10", True, None, -5])
def test_map_file_validates_chunk_size_itself(model, tmp_path, chunk_size):
    np.save(tmp_path / "in.npy", np.ones((3, D), np.float32))
    with pytest.raises(DataError, match="--chunk-size"):
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=chunk_size)


# --- correctness of the chunked .npy and Parquet paths ------------------------------------------------------


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


def test_streaming_does_not_go_through_the_validating_float64_transform(model, tmp_path, monkeypatch):
    """Throughput regression: the slow path (sklearn validation per chunk) must stay out of the loop."""
    X = np.random.default_rng(3).normal(size=(20, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    parquet_of(tmp_path / "in.parquet", X)
    monkeypatch.setattr(InstructionMap, "transform", lambda *a, **k: pytest.fail("transform called per chunk"))
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=6)
    map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=6)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected(model, X), rtol=1e-5, atol=1e-5)


LIST_TYPES = {"list": pa.list_(pa.float32()), "large_list<double>": pa.large_list(pa.float64()),
              "fixed_size_list": pa.list_(pa.float32(), D)}


@pytest.mark.parametrize("name", list(LIST_TYPES))
def test_parquet_keeps_list_type_and_other_columns(model, tmp_path, name):
    X = np.random.default_rng(4).normal(size=(30, D)).astype(np.float32)
    tags = pa.array([[f"t{i}"] for i in range(30)])
    parquet_of(tmp_path / "in.parquet", X, LIST_TYPES[name], tags=tags)
    assert map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=7) == 30
    source, out = pq.read_table(tmp_path / "in.parquet"), pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["id", "embedding", "tags"]
    assert out.column("id").equals(source.column("id")) and out.column("tags").equals(source.column("tags"))
    kind = out.schema.field("embedding").type
    assert type(kind) is type(source.schema.field("embedding").type) and kind.value_type == pa.float32()
    vectors = np.stack(out.column("embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(vectors, expected(model, X), rtol=1e-5, atol=1e-5)


def test_parquet_output_buffers_are_not_reused_while_the_writer_still_holds_one(model, tmp_path, monkeypatch):
    """Mapped blocks take turns in three buffers; a writer thread that lags must still see its own rows."""
    import time

    X = np.random.default_rng(6).normal(size=(40, D)).astype(np.float32)
    parquet_of(tmp_path / "in.parquet", X)
    real = pq.ParquetWriter.write_batch

    def lagging(self, batch, *args, **kwargs):
        time.sleep(0.02)  # the map runs ahead until the queue stops it
        return real(self, batch, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", lagging)
    assert map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=4) == 40
    out = pq.read_table(tmp_path / "out.parquet")
    vectors = np.stack(out.column("embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(vectors, expected(model, X), rtol=1e-5, atol=1e-5)


def test_halves_map_a_block_in_two_threads_and_raise_the_helpers_error():
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    with overlap.Halves() as halves:
        out = halves(lambda a, o: np.multiply(a, 2, out=o), x, np.empty_like(x))
        np.testing.assert_array_equal(out, 2 * x)

        def fails_on_the_second_half(a, o):
            if a[0, 0] >= 6:
                raise OSError(errno.EIO, "bad block")
            o[:] = a

        with pytest.raises(OSError, match="bad block"):
            halves(fails_on_the_second_half, x, np.empty_like(x))


def blas_threads() -> list[int]:
    """The thread count of each BLAS library numpy (and anything else loaded) uses."""
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]


def map_watching_threads(model, folder: Path) -> tuple[list[list[int]], list[str]]:
    """Map a small Parquet file; per block, the BLAS thread counts and the names of helper map threads."""
    parquet_of(folder / "in.parquet", np.ones((20, D), np.float32))
    during: list[list[int]] = []
    helpers: list[str] = []

    def progress(done, total):
        during.append(blas_threads())
        helpers.extend(t.name for t in threading.enumerate() if t.name.startswith("instructlin-map"))

    map_file(model, folder / "in.parquet", folder / "out.parquet", chunk_size=8, progress=progress)
    return during, helpers


def test_blas_leaves_the_parquet_codec_a_core_and_is_restored_after(model, tmp_path):
    """Idle OpenBLAS threads spin: while Parquet is mapped, each half of a block gets half the cores the
    reader and writer leave (one thread on 2 cores), and the setting is restored afterwards."""
    before = blas_threads()
    if not before:
        pytest.skip("numpy reports no BLAS library to threadpoolctl")
    during, helpers = map_watching_threads(model, tmp_path)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = min(min(before), max(1, (cores - 2) // 2))
    assert during and all(threads == [limit] * len(before) for threads in during), during
    assert blas_threads() == before
    assert bool(helpers) == (min(before) > 1)  # halves of each block mapped at once where BLAS had 2+ threads


def test_the_parquet_map_never_raises_a_lower_blas_setting(model, tmp_path, monkeypatch):
    """A Ray actor runs BLAS on one thread (Ray sets OMP_NUM_THREADS): the map must not give it more,
    even on a node whose many cores would allow more."""
    from instructlin.io import streaming

    monkeypatch.setattr(streaming, "blas_threads_per_half", lambda: 4)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        during, helpers = map_watching_threads(model, tmp_path)
    assert during and {n for threads in during for n in threads} == {1}
    assert helpers == []  # held to one core: blocks are mapped whole, no second mapping thread


def test_parquet_with_no_rows_gives_a_valid_empty_parquet(model, tmp_path):
    parquet_of(tmp_path / "in.parquet", np.zeros((0, D), np.float32))
    assert map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet") == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == 0 and out.column_names == ["id", "embedding"]
    assert out.schema.field("embedding").type == pa.list_(pa.float32())


# --- full disks: a DataError naming the output, never SIGBUS ----------------------------------------------------

DISK_CASES = [
    Case("the disk fills up while `instructlin map` writes a .npy (ENOSPC)", MAP_SURFACE,
         "DataError naming the output and the fix (free space or another --output); exit 2; no temp file left",
         {"errno": errno.ENOSPC, "suffix": ".npy"}),
    Case("the disk quota runs out while `instructlin map` writes a .npy (EDQUOT)", MAP_SURFACE,
         "DataError naming the output and the fix (free space or another --output); exit 2; no temp file left",
         {"errno": errno.EDQUOT, "suffix": ".npy"}),
]


@pytest.mark.parametrize("case", params(DISK_CASES))
def test_full_disk_is_a_data_error_naming_the_output(case, map_dir, tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "in.npy", np.ones((40, D), np.float32))
    calls = []

    def full(fh, data):
        calls.append(len(data))
        if len(calls) == 2:  # the first block is written, the second hits the full disk
            raise OSError(case.data["errno"], os.strerror(case.data["errno"]))
        fh.write(memoryview(data).cast("B"))

    monkeypatch.setattr(overlap, "write_all", full)
    target = tmp_path / "out.npy"
    code = run_main(["map", "--map", str(map_dir), "--input", str(tmp_path / "in.npy"), "--output", str(target),
                     "--chunk-size", "16", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(target) in err and "Free some space" in err and "--output" in err, err
    assert not target.exists() and hidden(tmp_path) == []


def test_a_full_disk_while_writing_parquet_in_the_background_is_a_data_error(map_dir, tmp_path, monkeypatch):
    """Parquet blocks are written from a thread: its error must reach the caller, and the temp file go."""
    rng = np.random.default_rng(2)
    source = parquet_of(tmp_path / "in.parquet", rng.normal(size=(40, D)).astype(np.float32))
    written = []
    real = pq.ParquetWriter.write_batch

    def fills_up(self, batch, *args, **kwargs):
        written.append(batch.num_rows)
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, batch, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", fills_up)
    with pytest.raises(DataError, match="Free some space"):
        map_file(InstructionMap.load(map_dir), source, tmp_path / "out.parquet", chunk_size=8)
    assert 2 <= len(written) <= 3  # the mapping stopped soon after the failed write, not at the end
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate on this platform")
def test_output_space_is_reserved_first_so_a_full_disk_stops_before_any_work(map_dir, tmp_path, monkeypatch):
    np.save(tmp_path / "in.npy", np.ones((40, D), np.float32))
    reserved, blocks = [], []

    def no_space(fd, offset, size):
        reserved.append(size)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    monkeypatch.setattr(overlap, "write_all", lambda fh, data: blocks.append(len(data)))
    with pytest.raises(DataError, match="Free some space"):
        map_file(InstructionMap.load(map_dir), tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=16)
    assert reserved == [ALIGN + 40 * D * 4] and blocks == []  # the header fills one aligned block; none mapped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_atomic_write_turns_enospc_into_a_data_error(tmp_path):
    def fill(tmp: str) -> None:
        Path(tmp).write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DataError, match="No space left on device.*Free some space"):
        atomic_write(tmp_path / "out.json", fill)
    assert list(tmp_path.iterdir()) == []


def _run_cli_child(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instructlin", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, **kwargs)


def test_file_size_limit_is_an_error_message_not_a_crash(map_dir, tmp_path):
    """A real failing write (ulimit -f) in a child process: the old memmap output died with a traceback."""
    import resource

    np.save(tmp_path / "in.npy", np.ones((4000, D), np.float32))  # 128 kB in and out

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))

    target = tmp_path / "out.npy"
    run = _run_cli_child(["map", "--map", str(map_dir), "--input", str(tmp_path / "in.npy"), "--output",
                          str(target), "--chunk-size", "500", "--quiet"], preexec_fn=limit,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("instructlin: error: Cannot write") and str(target) in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not target.exists() and hidden(tmp_path) == []


# --- signals and stale temp files --------------------------------------------------------------------------------

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
        return child.wait(timeout=120)  # the child unwinds its writer threads first; a loaded CI machine is slow
    finally:
        child.kill()
        child.stdout.close()


def test_sigterm_while_mapping_leaves_no_temp_file_and_still_kills(map_dir, tmp_path):
    assert _kill_while_writing(map_dir, tmp_path, signal.SIGTERM) == -signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


def test_next_write_removes_temp_files_of_killed_processes_only(map_dir, model, tmp_path):
    assert _kill_while_writing(map_dir, tmp_path, signal.SIGKILL) == -signal.SIGKILL
    (stale,) = hidden(tmp_path)  # kill -9 cannot be cleaned up at the time
    assert stale.startswith(TEMP_PREFIX)
    live = tmp_path / temp_name(".npy")  # a write in progress in this (live) process
    live.write_bytes(b"busy")
    (tmp_path / ".tmp-not-ours.npy").write_bytes(b"someone else's")
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy")
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


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
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


# --- saved maps: both files swap in together; permissions follow the umask -------------------------------------------


def _fitted(seed: int, d: int = D) -> InstructionMap:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, d))
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X + seed)


def test_save_failing_half_way_leaves_the_old_map_whole(tmp_path, monkeypatch):
    folder = _fitted(1).save(tmp_path / "map")
    old = {name: (folder / name).read_bytes() for name in (WEIGHTS_FILE, CONFIG_FILE)}

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", no_space)  # the weights are written, the config is not
    with pytest.raises((OSError, DataError)) as failed:
        _fitted(2, d=4).save(folder)
    monkeypatch.undo()
    assert {name: (folder / name).read_bytes() for name in old} == old
    assert hidden(tmp_path) == []
    assert isinstance(failed.value, DataError) and "Free some space" in str(failed.value)


def test_save_over_a_map_keeps_the_users_other_files_and_folder_mode(tmp_path):
    folder = _fitted(1).save(tmp_path / "map")
    (folder / "NOTES.md").write_text("my notes")
    (folder / "runs").mkdir()
    (folder / "runs" / "log.txt").write_text("log")
    folder.chmod(0o750)
    _fitted(2, d=4).save(tmp_path / "map")
    assert load_map(InstructionMap, folder).n_features_in_ == 4
    assert (folder / "NOTES.md").read_text() == "my notes" and (folder / "runs" / "log.txt").read_text() == "log"
    assert folder.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map"]


def test_a_swap_killed_between_its_two_renames_is_undone_by_the_next_write(tmp_path):
    folder = _fitted(1).save(tmp_path / "map")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = temp_name(".replaced-map").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
    folder.rename(tmp_path / name)  # as if killed after renaming the old folder away
    remove_stale_temps(tmp_path)
    assert load_map(InstructionMap, folder).n_features_in_ == D and hidden(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_follow_the_umask(model, tmp_path, umask):
    X = np.ones((4, D), np.float32)
    np.save(tmp_path / "in.npy", X)
    parquet_of(tmp_path / "in.parquet", X)
    old = os.umask(umask)
    try:
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy")
        map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
        folder = _fitted(1).save(tmp_path / "map")
    finally:
        os.umask(old)
    for path in (tmp_path / "out.npy", tmp_path / "out.parquet", folder / WEIGHTS_FILE, folder / CONFIG_FILE):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


def test_temp_names_are_recognisable_and_carry_the_pid():
    name = temp_name(".npy")
    assert name.startswith(TEMP_PREFIX) and f"-{os.getpid()}-" in name and name.endswith(".npy")
    assert atomic._TEMP_NAME.match(name)


def test_run_benchmark_keeps_every_marked_block(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_benchmark", ROOT / "benchmarks" / "run_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = tmp_path / "RESULTS.md"
    results.write_text("# old tables\n\n<!-- teacher:start -->\nT\n<!-- teacher:end -->\n\nmiddle\n\n"
                       "<!-- streaming:start -->\nS\n<!-- streaming:end -->\n")
    kept = module.kept_teacher_block(results)
    assert "<!-- teacher:start -->\nT\n<!-- teacher:end -->" in kept
    assert "<!-- streaming:start -->\nS\n<!-- streaming:end -->" in kept
    assert "old tables" not in kept and "middle" not in kept


@pytest.mark.parametrize("rows", [0, 1, 63, 64, 65, 1000])
def test_direct_writes_give_a_valid_npy_for_any_tail(map_dir, tmp_path, rows):
    """Blocks go out with O_DIRECT where the file system allows it; the unaligned tail the ordinary way."""
    from instructlin.io import direct_io

    model = InstructionMap.load(map_dir)
    X = np.random.default_rng(rows).standard_normal((rows, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    modes = []
    real_write = direct_io.DirectOutput.write

    def spy(self, data):
        modes.append((self.direct, len(memoryview(data).cast("B"))))
        return real_write(self, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(direct_io.DirectOutput, "write", spy)
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=64)
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (rows, D)
    assert rows == 0 or np.abs(out - expected(model, X)).max() < 1e-4
    assert (tmp_path / "out.npy").stat().st_size == ALIGN + rows * D * 4
    if direct_io._O_DIRECT and modes[0][0]:  # this file system takes direct writes: every whole block did
        assert all(direct for direct, size in modes if size % ALIGN == 0 and size)


def test_a_file_system_without_direct_io_gets_ordinary_writes(map_dir, tmp_path, monkeypatch):
    from instructlin.io import direct_io

    real_open = os.open

    def refuse_direct(path, flags, *args):
        if direct_io._O_DIRECT and flags & direct_io._O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_direct)
    model = InstructionMap.load(map_dir)
    X = np.ones((300, D), np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=64)
    assert np.abs(np.load(tmp_path / "out.npy") - expected(model, X)).max() < 1e-4


def test_parquet_vectors_are_written_uncompressed_and_other_columns_as_pyarrow_would(map_dir, tmp_path):
    """Float vectors do not compress, so snappy on them only costs time; ids and texts keep snappy."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = np.random.default_rng(0).standard_normal((500, D)).astype(np.float32)
    table = pa.table({"id": np.arange(500), "text": [f"text {i % 7}" for i in range(500)],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), D)})
    pq.write_table(table, tmp_path / "in.parquet")
    map_file(InstructionMap.load(map_dir), tmp_path / "in.parquet", tmp_path / "out.parquet")
    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    codecs = {group.column(i).path_in_schema: group.column(i).compression for i in range(group.num_columns)}
    assert codecs == {"id": "SNAPPY", "text": "SNAPPY", "embedding.list.element": "UNCOMPRESSED"}


def test_read_ahead_keeps_order_raises_the_readers_error_and_stops_when_left():
    assert list(overlap.read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise DataError("row 7 of part.parquet is bad")

    got = []
    with pytest.raises(DataError, match="row 7"):
        for item in overlap.read_ahead(failing()):
            got.append(item)
    assert got == [1]
    produced = []

    def endless():
        for i in range(10**9):
            produced.append(i)
            yield i

    reader = overlap.read_ahead(endless())
    assert next(reader) == 0
    reader.close()  # leaving early: the producer thread stops instead of reading on
    assert len(produced) <= 4 and not any(t.name == "instructlin-reader" for t in threading.enumerate())


def test_aligned_sink_writes_exactly_the_pieces_it_was_given(tmp_path):
    """Parquet's small pieces are gathered into aligned blocks (direct writes) and the tail at close."""
    from instructlin.io.direct_io import AlignedSink

    rng = np.random.default_rng(3)
    pieces = [rng.integers(0, 256, size=int(n), dtype=np.uint8).tobytes()
              for n in rng.integers(1, 3 * ALIGN, size=40)]
    target = tmp_path / "out.bin"
    target.touch()
    with AlignedSink(str(target), size=2 * ALIGN) as sink:
        for piece in pieces:
            assert sink.write(piece) == len(piece)
        assert sink.tell() == sum(map(len, pieces))
    assert target.read_bytes() == b"".join(pieces)


def test_aligned_sink_raises_the_error_of_a_write_made_by_its_thread(tmp_path, monkeypatch):
    """Full buffers go out from a thread: a full disk there must reach the writer, and the thread end."""
    from instructlin.io import direct_io

    target = tmp_path / "out.bin"
    target.touch()
    calls, real_write = [], os.write

    def write(fd, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(direct_io.os, "write", write)
    with pytest.raises(OSError) as raised:
        with direct_io.AlignedSink(str(target), size=ALIGN) as sink:
            for _ in range(20):
                sink.write(b"x" * ALIGN)
    assert raised.value.errno == errno.ENOSPC and len(calls) <= 4
    assert not any(t.name == "instructlin-writer" for t in threading.enumerate())


def test_direct_reads_and_writes_refused_after_open_fall_back_to_ordinary_io(map_dir, tmp_path, monkeypatch):
    """Some file systems accept O_DIRECT at open and refuse the first aligned read or write (EINVAL)."""
    from instructlin.io import direct_io

    refused = {"read": 0, "write": 0}
    real_preadv, real_write = os.preadv, os.write

    def preadv(fd, buffers, offset):
        if direct_io._O_DIRECT and not refused["read"]:
            refused["read"] += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_preadv(fd, buffers, offset)

    def write(fd, data):
        if direct_io._O_DIRECT and not refused["write"] and len(memoryview(data).cast("B")) % ALIGN == 0:
            refused["write"] += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "preadv", preadv)
    monkeypatch.setattr(os, "write", write)
    model = InstructionMap.load(map_dir)
    X = np.random.default_rng(1).standard_normal((3000, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=512)
    assert np.abs(np.load(tmp_path / "out.npy") - expected(model, X)).max() < 1e-4
    assert not direct_io._O_DIRECT or refused == {"read": 1, "write": 1}
