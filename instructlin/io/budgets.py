"""Size budgets checked from a file's header or footer, before anything is decoded.

A few hundred kilobytes of Parquet or ``.npy`` can declare gigabytes of values (repeated rows compress
to nothing; a header states any shape). A shared server cannot learn that by decoding, so each check
here reads only the metadata and names the limit the file exceeds; the app applies them to every
upload and every folder file a visitor picks (the command line, run by the data's owner, does not).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instructlin.errors import DataError

#: The app's budgets per table a visitor loads (rows, and bytes once decoded) and per vector file (numbers).
APP_MAX_TABLE_ROWS = 100_000
APP_MAX_TABLE_DECODED_MB = 256
APP_MAX_VECTOR_VALUES = 25_000_000  # 100 MB as float32: e.g. 100,000 x 256 or 24,000 x 1,024


def check_table_size(path: str | Path, *, name: str | None = None, max_rows: int = APP_MAX_TABLE_ROWS,
                     max_decoded_mb: float = APP_MAX_TABLE_DECODED_MB) -> None:
    """Refuse a table with more than ``max_rows`` rows or (Parquet) more than ``max_decoded_mb`` of
    uncompressed data, from the Parquet footer or a count of line breaks; nothing is parsed."""
    path = Path(path)
    name = name or path.name
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{name} is not a readable Parquet file ({' '.join(str(err).split())}).") from None
        rows = meta.num_rows
        decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)) / 2**20
        if decoded > max_decoded_mb:
            raise DataError(f"{name} holds {decoded:,.0f} MB once decompressed; this app reads at most "
                            f"{max_decoded_mb:,.0f} MB per table. Sample it first, or use the command line.")
        many = f"{rows:,} rows"
    else:  # CSV: line breaks minus the header (JSONL: one more than its rows, a bound near enough)
        rows = _line_breaks(path, max_rows + 2) - 1
        many = f"more than {max_rows:,} rows"
    if rows > max_rows:
        raise DataError(f"{name} has {many}; this app reads at most {max_rows:,} per table. Sample it first, "
                        "or run the command line on the whole file.")


def _line_breaks(path: Path, stop: int) -> int:
    """Line breaks in ``path`` (plus one for a last line without), counting no further than ``stop``."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
            if count >= stop:
                return count
    return count + (last != b"\n")


def npy_shape(path: str | Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header (nothing decoded); a DataError where the file is not one,
    is shorter than it declares, or holds Python objects."""
    from instructlin.io.npy_files import check_npy_size

    with Path(path).open("rb") as handle:
        shape, dtype = check_npy_size(handle, name)
    if dtype.hasobject:
        raise DataError(f"{name} holds Python objects (it would need unpickling, which is never done); "
                        "save a float array with numpy.save.")
    return shape, dtype


def check_vector_size(rows: int, dim: int, name: str, *, max_rows: int, max_dim: int,
                      max_values: int | None) -> None:
    """Refuse more than ``max_rows`` rows, ``max_dim`` dimensions or ``max_values`` numbers (None: no
    limit on numbers), from a header or footer, before the values are decoded."""
    if rows > max_rows:
        raise DataError(f"{name} has {rows:,} rows; at most {max_rows:,} are read here. Sample it first, "
                        "or map the whole file with the command line (instructlin fit / map).")
    if dim > max_dim:
        raise DataError(f"{name} has {dim:,} dimensions; at most {max_dim:,} are read.")
    if max_values is not None and rows * dim > max_values:
        raise DataError(f"{name} holds {rows:,} x {dim:,} = {rows * dim:,} numbers; this app reads at most "
                        f"{max_values:,} per file (about {max_values * 4 / 2**20:,.0f} MB as float32). Use fewer "
                        "rows or dimensions, or map the whole file with the command line (instructlin fit / map).")


def parquet_list_values(meta, column: str) -> int:
    """How many list elements a Parquet footer (``ParquetFile.metadata``) says ``column`` stores."""
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] == column:
                total += chunk.num_values
    return total
