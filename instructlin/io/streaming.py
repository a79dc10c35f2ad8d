"""Apply a saved map to a .npy or Parquet embeddings file block by block, in memory bounded by the block.

Nothing is memory-mapped: each block is read with explicit reads, mapped by a float32 GEMM into a reused
buffer and written with explicit writes, one block after the other in this thread, so memory stays at a
few blocks whatever the file size, and a full disk raises a DataError naming the output instead of
killing the process with SIGBUS. Nothing here changes process-wide state (BLAS threads, allocators).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.errors import DataError
from instructlin.extras import require
from instructlin.io import arrow_lists
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

__all__ = ["DEFAULT_CHUNK_SIZE", "BlockAffine", "ChunkProgress", "Speedups", "apply_affine", "check_chunk_size",
           "check_not_input", "map_file"]


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
    ``speed`` switches the I/O speed-ups off one by one, for the streaming benchmark; the output is the same.
    """
    chunk_size = check_chunk_size(chunk_size)
    source, target = Path(source), Path(target)
    check_not_input(source, target)
    if source.suffix != target.suffix:
        raise DataError(f"Input {source.name} and output {target.name} must have the same suffix.")
    if source.suffix == ".npy":
        return map_npy(BlockAffine(model), source, target, chunk_size, progress, speed)
    if source.suffix == ".parquet":
        return _map_parquet(BlockAffine(model), source, target, column, chunk_size, progress, speed.arrow_buffers)
    raise DataError(f"Unsupported embeddings file {source.name}; use .npy or .parquet.")


def _map_parquet(affine: BlockAffine, source: Path, target: Path, column: str, chunk_size: int,
                 progress: ChunkProgress | None, arrow_buffers: bool) -> int:
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
        mapped_rows = np.empty((batch_rows, affine.d_out), dtype=np.float32)
        with pq.ParquetWriter(tmp, out_schema, use_dictionary=others, write_statistics=others,
                              compression=compression, write_batch_size=PARQUET_WRITE_BATCH) as writer:
            for batch in reader.iter_batches(batch_size=batch_rows):
                if not batch.num_rows:
                    continue
                vectors = arrow_lists.vectors(batch.column(index), column, source, arrow_buffers=arrow_buffers)
                affine.check(vectors.shape[1])
                mapped = affine(to_float32(vectors), mapped_rows[: len(vectors)])
                check_mapped_block(vectors, mapped, done, source)
                out = arrow_lists.list_array(mapped, out_kind, arrow_buffers=arrow_buffers)
                columns = [out if i == index else batch.column(i) for i in range(batch.num_columns)]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=out_schema))
                done += len(vectors)
                if progress:
                    progress(done, total)

    atomic_write(target, write)
    return done
