"""Apply a saved map to an embeddings file in chunks, so files larger than memory work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.mapping import InstructionMap

ChunkProgress = Callable[[int, int], None]


def map_file(
    model: InstructionMap,
    source: str | Path,
    target: str | Path,
    *,
    column: str = "embedding",
    chunk_size: int = 65536,
    progress: ChunkProgress | None = None,
) -> int:
    """Map a ``.npy`` (n, d) array or a Parquet file's list column; returns the number of rows.

    ``.npy`` is memory-mapped and written through a memory-mapped output; Parquet is read and
    written in record batches, keeping its other columns. The output appears atomically.
    """
    source, target = Path(source), Path(target)
    if source.suffix != target.suffix:
        raise ValueError(f"Input {source.name} and output {target.name} must have the same suffix.")
    if source.suffix == ".npy":
        return _map_npy(model, source, target, chunk_size, progress)
    if source.suffix == ".parquet":
        return _map_parquet(model, source, target, column, chunk_size, progress)
    raise ValueError(f"Unsupported embeddings file {source.name}; use .npy or .parquet.")


def _map_npy(model, source: Path, target: Path, chunk_size: int, progress) -> int:
    data = np.load(source, mmap_mode="r", allow_pickle=False)
    if data.ndim != 2:
        raise ValueError(f"{source.name} holds an array of shape {data.shape}; expected (n, d).")
    model.check_compatible(dim=data.shape[1])
    n, d_out = data.shape[0], model.coef_.shape[0]

    def write(tmp: str) -> None:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, d_out))
        for start in range(0, n, chunk_size):
            out[start : start + chunk_size] = model.transform(np.asarray(data[start : start + chunk_size]))
            if progress:
                progress(min(start + chunk_size, n), n)
        out.flush()
        del out

    atomic_write(target, write)
    return n


def _map_parquet(model, source: Path, target: Path, column: str, chunk_size: int, progress) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    if column not in reader.schema_arrow.names:
        raise ValueError(
            f"{source.name} has no column {column!r}; columns found: {reader.schema_arrow.names}. "
            "Name the embeddings column with --column."
        )
    total = reader.metadata.num_rows
    done = 0

    def write(tmp: str) -> None:
        nonlocal done
        writer = None
        try:
            for batch in reader.iter_batches(batch_size=chunk_size):
                vectors = np.asarray(batch.column(column).to_pylist(), dtype=np.float32)
                if vectors.ndim != 2:
                    raise ValueError(f"Column {column!r} of {source.name} is not a list of vectors.")
                model.check_compatible(dim=vectors.shape[1])
                mapped = pa.array(list(model.transform(vectors)), type=pa.list_(pa.float32()))
                table = pa.Table.from_batches([batch])
                table = table.set_column(table.schema.get_field_index(column), column, mapped)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                done += len(vectors)
                if progress:
                    progress(done, total)
        finally:
            if writer is not None:
                writer.close()

    atomic_write(target, write)
    return done
