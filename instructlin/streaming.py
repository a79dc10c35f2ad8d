"""Apply a saved map to a .npy or Parquet embeddings file block by block, in memory bounded by the block.

Nothing is memory-mapped: each block is read with explicit reads, mapped by a float32 GEMM into a reused
buffer and written with explicit writes (from a thread, while the next block is computed), so memory
stays at a few blocks whatever the file size, and a full disk raises a DataError naming the output
instead of killing the process with SIGBUS.
"""

from __future__ import annotations

import errno
import numbers
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from instructlin import arrow_lists, direct_io, overlap
from instructlin.atomic import atomic_write
from instructlin.data import DataError
from instructlin.extras import require

ChunkProgress = Callable[[int, int], None]
DEFAULT_CHUNK_SIZE = 65536
#: Bytes of one float32 block buffer at most: blocks are ``chunk_size`` rows or fewer, so memory stays
#: near 4 x 64 MB (5 for float64 input) plus the interpreter, whatever the chunk size and the dimension.
BLOCK_BYTES = 64 * 2**20
#: A Parquet block lives in more copies at once (the next input decoded ahead, this one, three mapped
#: outputs taking turns, its encoded row group), so its budget is smaller; and under 32 MiB, so Arrow's
#: allocator reuses its buffers instead of mapping fresh zeroed pages for every batch (measured 2,000,000
#: x 384: 24 MB blocks mapped 10-15 % faster than 32 MB ones).
PARQUET_BLOCK_BYTES = 24 * 2**20
#: Vector values the Parquet writer encodes per step: about one 1 MB data page (the default of 1,024
#: spent 10 % more of the writer's time on its per-step overhead at d = 384).
PARQUET_WRITE_BATCH = 2**18


def check_chunk_size(chunk_size: Any) -> int:
    """``chunk_size`` as an int, or a DataError naming ``--chunk-size`` and its valid range."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise DataError(f"--chunk-size must be a whole number of rows, 1 or more (default {DEFAULT_CHUNK_SIZE}); "
                        f"got {chunk_size!r}.")
    return int(chunk_size)


class _Affine:
    """``x @ W + b`` in float32, prepared once from a fitted map (no per-chunk validation or float64)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.W = np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float32).T)
        self.b = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float32), (self.W.shape[1],)).copy()
        self.d_in, self.d_out = self.W.shape

    def check(self, dim: int) -> None:
        self.model.check_compatible(dim=dim)

    def block_rows(self, chunk_size: int, n: int | None = None, *, budget: int = BLOCK_BYTES) -> int:
        """Rows per block: ``chunk_size``, fewer where a buffer would pass ``budget`` bytes, at least 1."""
        cap = budget // (4 * max(self.d_in, self.d_out, 1))
        return max(1, min(chunk_size, cap, chunk_size if n is None else n))

    def __call__(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return apply_affine(x, self.W, self.b, out=out)


def apply_affine(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """``x @ weight + bias`` for one block of rows: the one core every engine (single-process, Ray) runs.

    ``weight`` is (d_in, d_out), i.e. the map's ``coef_.T``; ``out`` (n, d_out), when given, is filled in
    place, so a streaming loop reuses one buffer. Pure: reads nothing but its arguments.
    """
    out = np.matmul(x, weight, out=out)
    out += bias
    return out


def map_file(
    model: Any,
    source: str | Path,
    target: str | Path,
    *,
    column: str = "embedding",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ChunkProgress | None = None,
) -> int:
    """Map a ``.npy`` (n, d) array or a Parquet file's list column; returns the number of rows.

    ``model`` is a fitted InstructionMap. Memory is a few chunks of ``chunk_size`` rows; the output
    appears atomically (nothing is left behind on errors or SIGTERM) and Parquet keeps its other columns.
    """
    chunk_size = check_chunk_size(chunk_size)
    source, target = Path(source), Path(target)
    if source.suffix != target.suffix:
        raise DataError(f"Input {source.name} and output {target.name} must have the same suffix.")
    if source.suffix == ".npy":
        return _map_npy(_Affine(model), source, target, chunk_size, progress)
    if source.suffix == ".parquet":
        return _map_parquet(_Affine(model), source, target, column, chunk_size, progress)
    raise DataError(f"Unsupported embeddings file {source.name}; use .npy or .parquet.")


def _read_npy_header(fh: Any, source: Path) -> tuple[int, int, np.dtype]:
    """Rows, columns and dtype of an open .npy file, positioned at its data; refuses what cannot stream."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0  # 3.0: as 2.0
        shape, fortran_order, dtype = reader(fh)
    except ValueError as err:
        raise DataError(f"{source.name} is not a readable .npy file ({err}).") from None
    if dtype.hasobject or dtype.kind != "f":
        raise DataError(f"{source.name} holds {dtype} values; embeddings must be float16, float32 or float64.")
    if len(shape) != 2:
        raise DataError(f"{source.name} holds an array of shape {shape}; expected (n, d).")
    if fortran_order:
        raise DataError(f"{source.name} is stored in Fortran (column) order, which cannot be read in row chunks; "
                        "re-save it with np.save(path, np.ascontiguousarray(array)).")
    n, d = shape
    missing = n * d * dtype.itemsize - (os.fstat(fh.fileno()).st_size - fh.tell())
    if missing > 0:
        raise DataError(f"{source.name} is truncated: {missing} bytes of its {n} x {d} array are missing.")
    return n, d, dtype


def _check_finite_block(x: np.ndarray, start: int, source: Path) -> None:
    """DataError naming the first row holding NaN or infinity; one sum per block keeps the check cheap."""
    if np.isfinite(np.sum(x)):
        return
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:  # else the sum overflowed on finite values: nothing to refuse
        raise DataError(f"{source.name} row {start + int(bad[0])} holds NaN or infinity; drop or fix that "
                        "row first (nothing was written).")


def _reserve(fh: Any, size: int) -> None:
    """Allocate the output's blocks up front: a full disk shows before any work, and writes are faster."""
    if size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fh.fileno(), 0, size)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            # EINVAL / EOPNOTSUPP: the file system cannot reserve; the writes still work


def _map_npy(affine: _Affine, source: Path, target: Path, chunk_size: int, progress: ChunkProgress | None) -> int:
    with open(source, "rb", buffering=0) as fh:
        n, d, dtype = _read_npy_header(fh, source)
        affine.check(d)
        rows = direct_io.aligned_rows(affine.block_rows(chunk_size, n), 4 * affine.d_out)
        x = None if dtype == np.float32 else np.empty((rows, d), dtype=np.float32)
        header = direct_io.npy_header((n, affine.d_out))
        blocks = direct_io.read_blocks(str(source), fh.tell(), n, (d,), dtype, rows)

        def write(tmp: str) -> None:
            with direct_io.DirectOutput(tmp) as out:
                out.write_all(header)
                _reserve(out, out.tell() + n * affine.d_out * 4)
                writer = overlap.BufferWriter(out, (rows, affine.d_out), allocate=direct_io.aligned_empty)
                try:
                    for start, raw in overlap.read_ahead(blocks):
                        k = len(raw)
                        block = raw if x is None else x[:k]
                        if x is not None:
                            np.copyto(block, raw, casting="same_kind")
                        _check_finite_block(block, start, source)
                        y = writer.buffer()
                        affine(block, y[:k])
                        writer.submit(y, k)
                        if progress:
                            progress(start + k, n)
                except EOFError:
                    writer.finish(check=False)
                    raise DataError(f"{source.name} ended early while being read; was it being rewritten?") from None
                except BaseException:
                    writer.finish(check=False)
                    raise
                writer.finish()

        atomic_write(target, write)
    return n


def blas_threads_per_half() -> int:
    """BLAS threads for each half of a Parquet block (:class:`overlap.Halves`): the cores the reader and
    writer threads leave, shared by the two halves, at least 1 (1 on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, (cores - 2) // 2)


@contextmanager
def blas_beside_io() -> Iterator[bool]:
    """BLAS limited to :func:`blas_threads_per_half` while Parquet is mapped: the codec threads need cores
    of their own, and idle OpenBLAS threads spin instead of yielding them (measured at 2,000,000 x 384
    on 2 cores: 2 BLAS threads made the whole map 10-20 % slower). Yields whether to split blocks into
    halves: not where BLAS was already held to one thread, as in a Ray actor (Ray sets OMP_NUM_THREADS),
    whose setting is never raised. The limit is process-wide while it holds (BLAS has no per-thread one)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    now = min((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)
    with threadpool_limits(limits=min(now, blas_threads_per_half()), user_api="blas"):
        yield now > 1


def _map_parquet(affine: _Affine, source: Path, target: Path, column: str, chunk_size: int,
                 progress: ChunkProgress | None) -> int:
    pa = require("pyarrow", purpose="mapping Parquet")
    pq = require("pyarrow.parquet", purpose="mapping Parquet")

    reader = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)  # stream pages, not row groups
    schema = reader.schema_arrow
    found = schema.get_all_field_indices(column)
    if len(found) != 1:
        raise DataError(f"{source.name} has {'no' if not found else 'several'} column {column!r}; columns "
                        f"found: {schema.names}. Name the embeddings column with --column.")
    index = found[0]
    kind = arrow_lists.list_type(schema.field(index), source)
    if pa.types.is_fixed_size_list(kind):
        affine.check(kind.list_size)
    out_kind = arrow_lists.output_type(kind, affine.d_out)
    out_schema = schema.set(index, schema.field(index).with_type(out_kind))
    paths = [reader.schema.column(i).path for i in range(len(reader.schema))]
    others = [p for p in paths if p != column and not p.startswith(column + ".")]  # vectors: no dictionary
    batch_rows = affine.block_rows(chunk_size, budget=PARQUET_BLOCK_BYTES)
    total, done = reader.metadata.num_rows, 0

    def write(tmp: str) -> None:
        nonlocal done
        # Vectors: no dictionary, no statistics and no compression (float vectors do not compress; snappy
        # spent as long on them as the rest of the write). The other columns keep pyarrow's defaults.
        compression = {**dict.fromkeys(others, "snappy"), column: "none"}
        # Three output buffers take turns: the writer thread holds at most the one it writes and one queued.
        outputs = [np.empty((batch_rows, affine.d_out), dtype=np.float32) for _ in range(3)]
        sink = direct_io.AlignedSink(tmp)
        with sink, pq.ParquetWriter(pa.PythonFile(sink, mode="w"), out_schema, use_dictionary=others,
                                    write_statistics=others, compression=compression,
                                    write_batch_size=PARQUET_WRITE_BATCH) as writer, \
                overlap.WriteBehind() as behind, blas_beside_io() as split, overlap.Halves(split) as halves:
            # use_threads=False: the read-ahead thread decodes, not a pool competing with the map for cores.
            batches = reader.iter_batches(batch_size=batch_rows, use_threads=False)
            turn = 0
            for batch in overlap.read_ahead(batches):
                if not batch.num_rows:
                    continue
                vectors = arrow_lists.vectors(batch.column(index), column, source)
                affine.check(vectors.shape[1])
                x = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
                _check_finite_block(x, done, source)
                mapped = halves(affine, x, outputs[turn % 3][: len(x)])
                columns = [arrow_lists.list_array(mapped, out_kind) if i == index else batch.column(i)
                           for i in range(batch.num_columns)]
                behind.submit(writer.write_batch, pa.RecordBatch.from_arrays(columns, schema=out_schema))
                turn, done = turn + 1, done + len(x)
                if progress:
                    progress(done, total)

    atomic_write(target, write)
    return done
