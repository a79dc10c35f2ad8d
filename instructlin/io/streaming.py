"""Apply a saved map to a .npy or Parquet embeddings file block by block, in memory bounded by the block.

Nothing is memory-mapped: each block is read with explicit reads, mapped by a float32 GEMM into a reused
buffer and written with explicit writes (from a thread, while the next block is computed), so memory
stays at a few blocks whatever the file size, and a full disk raises a DataError naming the output
instead of killing the process with SIGBUS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.errors import DataError
from instructlin.extras import require
from instructlin.io import arrow_lists, direct_io, overlap
from instructlin.io.affine_blocks import (
    DEFAULT_CHUNK_SIZE,
    PARQUET_BLOCK_BYTES,
    PARQUET_WRITE_BATCH,
    BlockAffine,
    ChunkProgress,
    apply_affine,
    check_chunk_size,
    check_mapped_block,
    to_float32,
)
from instructlin.io.npy_stream import map_npy
from instructlin.io.speedups import ALL, Speedups

__all__ = ["DEFAULT_CHUNK_SIZE", "BlockAffine", "ChunkProgress", "apply_affine", "blas_beside_io",
           "blas_threads_per_half", "check_chunk_size", "check_not_input", "map_file"]

def check_not_input(source: str | Path, target: str | Path) -> None:
    """Refuse an output that is the input file (by any path or hard link): writing it would replace the input."""
    source, target = Path(source), Path(target)
    same = source.resolve() == target.resolve()
    if not same and source.exists() and target.exists():
        same = os.path.samefile(source, target)
    if same:
        raise DataError(f"--output {target} is the input file {source}; mapping it would replace the input "
                        "embeddings. Give another --output path.")


def map_file(
    model: Any,
    source: str | Path,
    target: str | Path,
    *,
    column: str = "embedding",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ChunkProgress | None = None,
    speed: Speedups = ALL,
) -> int:
    """Map a ``.npy`` (n, d) array or a Parquet file's list column; returns the number of rows.

    ``model`` is a fitted InstructionMap. Memory is a few chunks of ``chunk_size`` rows; the output
    appears atomically (nothing is left behind on errors or SIGTERM) and Parquet keeps its other columns.
    """
    chunk_size = check_chunk_size(chunk_size)
    source, target = Path(source), Path(target)
    check_not_input(source, target)
    if source.suffix != target.suffix:
        raise DataError(f"Input {source.name} and output {target.name} must have the same suffix.")
    if source.suffix == ".npy":
        return map_npy(BlockAffine(model), source, target, chunk_size, progress, speed)
    if source.suffix == ".parquet":
        return _map_parquet(BlockAffine(model), source, target, column, chunk_size, progress, speed)
    raise DataError(f"Unsupported embeddings file {source.name}; use .npy or .parquet.")


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


def _map_parquet(affine: BlockAffine, source: Path, target: Path, column: str, chunk_size: int,
                 progress: ChunkProgress | None, speed: Speedups) -> int:
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
        sink = direct_io.AlignedSink(tmp) if speed.direct_io else open(tmp, "wb")
        with sink, pq.ParquetWriter(pa.PythonFile(sink, mode="w"), out_schema, use_dictionary=others,
                                    write_statistics=others, compression=compression,
                                    write_batch_size=PARQUET_WRITE_BATCH) as writer, \
                (overlap.WriteBehind() if speed.overlap else nullcontext()) as behind, \
                (blas_beside_io() if speed.split_blas else nullcontext(False)) as split, \
                overlap.Halves(split) as halves:
            # use_threads=False: the read-ahead thread decodes, not a pool competing with the map for cores.
            batches = reader.iter_batches(batch_size=batch_rows, use_threads=False)
            turn = 0
            for batch in overlap.read_ahead(batches) if speed.overlap else batches:
                if not batch.num_rows:
                    continue
                if speed.arrow_buffers:
                    vectors = arrow_lists.vectors(batch.column(index), column, source)
                else:
                    vectors = np.stack(batch.column(index).to_numpy(zero_copy_only=False))
                affine.check(vectors.shape[1])
                x = to_float32(vectors)
                mapped = halves(affine, x, outputs[turn % 3][: len(x)])
                check_mapped_block(vectors, mapped, done, source)
                out = arrow_lists.list_array(mapped, out_kind) if speed.arrow_buffers else \
                    pa.array(list(mapped), type=out_kind)
                columns = [out if i == index else batch.column(i) for i in range(batch.num_columns)]
                record = pa.RecordBatch.from_arrays(columns, schema=out_schema)
                if behind is None:
                    writer.write_batch(record)
                else:
                    behind.submit(writer.write_batch, record)
                turn, done = turn + 1, done + len(x)
                if progress:
                    progress(done, total)

    atomic_write(target, write)
    return done
