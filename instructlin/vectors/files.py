"""Bring your own vectors: read base / instructed embeddings and labels and align them by id (fit: vector_runs).

No encoder runs here. Base embeddings cover every row; instructed embeddings (the same encoder with
the instruction) cover some or all rows and are matched by id, or by position when a file has no ids.
Every problem is one ``DataError`` line that names the user's file (``name``, not the stored path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instructlin.errors import DataError, one_line
from instructlin.extras import require
from instructlin.io.arrow_lists import vectors as list_vectors
from instructlin.io.budgets import check_vector_size, npy_shape, parquet_list_values
from instructlin.io.npy_files import decode_npy
from instructlin.sources.datasets import read_table

#: Fewer instructed rows than this cannot be fitted and cross-validated.
MIN_PAIRS = 4

#: Embedding file types the "Your vectors" page and this module read (no pickle, ever).
VECTOR_FILE_TYPES: tuple[str, ...] = ("npy", "parquet")
#: The most rows and dimensions this module reads from one uploaded embeddings file.
MAX_VECTOR_ROWS = 100_000
MAX_VECTOR_DIM = 16_384



@dataclass(frozen=True)
class VectorFile:
    """One embeddings file: (rows, d) float32 vectors and each row's id (None: rows are matched by position)."""

    name: str
    vectors: np.ndarray
    ids: np.ndarray | None = None


@dataclass(frozen=True)
class LabelFile:
    """Labels of rows, by id (or by position when ``ids`` is None), from the column ``column``."""

    name: str
    labels: np.ndarray
    ids: np.ndarray | None = None
    column: str = "label"


@dataclass(frozen=True)
class AlignedVectors:
    """Base vectors of every row, the instructed vectors of rows ``paired`` (base order), labels if given."""

    ids: np.ndarray
    base: np.ndarray
    instructed: np.ndarray
    paired: np.ndarray
    labels: np.ndarray | None
    matched_by: str  # "id" or "row"
    label_column: str | None = None

    @property
    def complete(self) -> bool:
        """Every row has an instructed vector: a held-out split can be scored."""
        return len(self.paired) == len(self.base)


def _checked(array: np.ndarray, ids: np.ndarray | None, name: str, max_rows: int) -> np.ndarray:
    """Numbers of shape (rows, d), within the limits, without NaN or inf; else a DataError naming ``name``."""
    if array.ndim != 2:
        raise DataError(f"{name} holds an array of shape {array.shape}; expected (rows, dimensions).")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"{name} holds {array.dtype} values, not numbers; save the embeddings as floats.")
    rows, dim = array.shape
    if rows == 0 or dim == 0:
        raise DataError(f"{name} is empty ({rows} rows x {dim} dimensions).")
    check_vector_size(rows, dim, name, max_rows=max_rows, max_dim=MAX_VECTOR_DIM, max_values=None)
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if len(bad):
        first = f"id {ids[bad[0]]!r}" if ids is not None else f"row {int(bad[0])}"
        raise DataError(f"{name} has {len(bad)} row(s) with NaN or inf (first: {first}); "
                        "re-encode or drop those rows.")
    return np.ascontiguousarray(array, dtype=np.float32)


def _unique_ids(ids: np.ndarray, name: str) -> np.ndarray:
    keys = ids.astype(str)
    values, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        dup = values[counts > 1]
        raise DataError(f"{name} has {len(dup)} duplicated id(s) (first: {dup[0]!r} appears "
                        f"{int(counts[counts > 1][0])} times); ids must be unique.")
    return keys


def read_vectors(path: str | Path, *, name: str | None = None, id_column: str | None = None, ids: bool = True,
                 vector_column: str | None = None, max_rows: int = MAX_VECTOR_ROWS,
                 max_values: int | None = None) -> VectorFile:
    """Embeddings from a ``.npy`` (no ids) or a Parquet file (an ``id`` column and one list-of-numbers column).

    ``ids=False`` ignores any id column (rows are then matched by position). ``max_values``: refuse files
    declaring more numbers (rows x dimensions) than this, before decoding them (the app's budget).
    """
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise DataError(f"{name} is not there (no such file, or removed from the upload store); load it again.")
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    if suffix == ".npy":
        shape, _ = npy_shape(path, name)  # from the header: nothing decoded yet
        if len(shape) == 2:
            check_vector_size(*shape, name, max_rows=max_rows, max_dim=MAX_VECTOR_DIM, max_values=max_values)
        array = decode_npy(path, name)
        return VectorFile(name, _checked(array, None, name, max_rows))
    if suffix != ".parquet":
        raise DataError(f"{name}: embeddings are read from .npy or .parquet files, not {suffix or 'this file'}.")
    return _read_parquet(path, name, id_column, vector_column, max_rows, ids, max_values)


def _read_parquet(path: Path, name: str, id_column: str | None, vector_column: str | None,
                  max_rows: int, use_ids: bool, max_values: int | None) -> VectorFile:
    pa, pq = require("pyarrow", purpose="Parquet"), require("pyarrow.parquet", purpose="Parquet")
    try:
        parquet = pq.ParquetFile(path)
        schema, meta = parquet.schema_arrow, parquet.metadata
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{name} is not a readable Parquet file ({one_line(err)}).") from None
    lists = [f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
             or pa.types.is_fixed_size_list(f.type)]
    if vector_column is None:
        if len(lists) != 1:
            found = ", ".join(schema.names)
            raise DataError(f"{name} has {len(lists)} list columns ({', '.join(lists) or 'none'}; columns: "
                            f"{found}); it needs one column holding each row's vector. Name the vector column.")
        vector_column = lists[0]
    if vector_column not in lists:
        raise DataError(f"{name} has no list column {vector_column!r}; list columns: {', '.join(lists) or 'none'}.")
    kind = schema.field(vector_column).type.value_type
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        raise DataError(f"{name}: column {vector_column!r} holds lists of {kind}, not numbers.")
    id_column = None if not use_ids else id_column or ("id" if "id" in schema.names else None)
    if id_column is not None and id_column not in schema.names:
        raise DataError(f"{name} has no id column {id_column!r}; columns: {', '.join(schema.names)}.")
    values = parquet_list_values(meta, vector_column)  # from the footer: nothing decoded yet
    check_vector_size(meta.num_rows, -(-values // max(meta.num_rows, 1)), name, max_rows=max_rows,
                      max_dim=MAX_VECTOR_DIM, max_values=max_values)
    try:
        table = parquet.read(columns=[c for c in (id_column, vector_column) if c is not None])
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{name} is not a readable Parquet file ({one_line(err)}).") from None
    ids = None
    if id_column is not None:
        column = table.column(id_column)
        if column.null_count:
            raise DataError(f"{name}: id column {id_column!r} has {column.null_count} missing ids.")
        ids = np.asarray(column.to_numpy(zero_copy_only=False))
        _unique_ids(ids, name)
    chunk = table.column(vector_column).combine_chunks()
    array = list_vectors(chunk, vector_column, Path(name))
    return VectorFile(name, _checked(array, ids, name, max_rows), ids)


def read_labels(path: str | Path, *, name: str | None = None, id_column: str | None = None, ids: bool = True,
                label_column: str | None = None) -> LabelFile:
    """Labels from a CSV / Parquet / JSONL table: an ``id`` column (else by position) and one label column.

    ``ids=False`` ignores any id column (labels are then matched by position).
    """
    path = Path(path)
    name = name or path.name
    try:
        frame = read_table(path)
    except DataError as err:
        raise DataError(one_line(str(err).replace(str(path), name).replace(path.name, name))) from None
    columns = [str(c) for c in frame.columns]
    id_column = None if not ids else id_column or ("id" if "id" in columns else None)
    others = [c for c in columns if c != id_column]
    if label_column is None:
        if len(others) != 1:
            raise DataError(f"{name} has columns {', '.join(columns)}; it needs an id column and one label "
                            "column. Name the label column.")
        label_column = others[0]
    for wanted in (id_column, label_column):
        if wanted is not None and wanted not in columns:
            raise DataError(f"{name} has no column {wanted!r}; columns: {', '.join(columns)}.")
    values = frame[label_column]
    if values.isna().any():
        raise DataError(f"{name}: label column {label_column!r} has {int(values.isna().sum())} missing "
                        "labels; fill or drop those rows.")
    labels = values.astype(str).to_numpy()
    if len(np.unique(labels)) < 2:
        raise DataError(f"{name}: label column {label_column!r} has one class only; V-measure needs 2 or more.")
    ids = None
    if id_column is not None:
        ids = frame[id_column].to_numpy()
        _unique_ids(ids, name)
    return LabelFile(name, labels, ids, label_column)


def align(base: VectorFile, instructed: VectorFile, labels: LabelFile | None = None) -> AlignedVectors:
    """Match instructed rows (and labels) to base rows by id, or by position where a file has no ids."""
    n, d = base.vectors.shape
    if instructed.vectors.shape[1] != d:
        raise DataError(f"{instructed.name} has {instructed.vectors.shape[1]} dimensions but {base.name} has {d}; "
                        "both must come from the same encoder.")
    ids = base.ids if base.ids is not None else np.arange(n)
    keys = _unique_ids(ids, base.name)
    where = {k: i for i, k in enumerate(keys)}
    if instructed.ids is None:
        m = len(instructed.vectors)
        if m > n:
            raise DataError(f"{instructed.name} has {m} rows but {base.name} has {n}; without an id column, "
                            "rows are matched by position. Add an id column to both files.")
        paired, vectors, matched_by = np.arange(m), instructed.vectors, "row"
    else:
        paired = _positions(_unique_ids(instructed.ids, instructed.name), where, instructed.name, base)
        order = np.argsort(paired, kind="stable")
        paired, vectors, matched_by = paired[order], instructed.vectors[order], "id"
    if len(paired) < MIN_PAIRS:
        raise DataError(f"{instructed.name} has {len(paired)} row(s); the map needs at least {MIN_PAIRS} "
                        "instructed rows (32 or more give a useful map).")
    return AlignedVectors(np.asarray(ids), base.vectors, vectors, paired,
                          None if labels is None else _aligned_labels(labels, keys, base), matched_by,
                          None if labels is None else labels.column)


def _positions(keys: np.ndarray, where: dict[str, int], name: str, base: VectorFile) -> np.ndarray:
    missing = [k for k in keys if k not in where]
    if missing:
        hint = (f"{base.name} has no ids, so ids here must be row numbers 0 to {len(base.vectors) - 1}"
                if base.ids is None else "check that both files use the same ids")
        raise DataError(f"{name}: {len(missing)} of {len(keys)} ids are not in {base.name} "
                        f"(first: {missing[0]!r}); {hint}.")
    return np.array([where[k] for k in keys], dtype=np.int64)


def _aligned_labels(labels: LabelFile, keys: np.ndarray, base: VectorFile) -> np.ndarray:
    if labels.ids is None:
        if len(labels.labels) != len(keys):
            raise DataError(f"{labels.name} has {len(labels.labels)} rows but {base.name} has {len(keys)}; "
                            "without an id column, labels are matched by position.")
        return labels.labels
    by_id = dict(zip(labels.ids.astype(str), labels.labels, strict=True))
    missing = [k for k in keys if k not in by_id]
    if missing:
        raise DataError(f"{labels.name} has no label for {len(missing)} of {len(keys)} ids of {base.name} "
                        f"(first: {missing[0]!r}); every row needs a label.")
    return np.array([by_id[k] for k in keys])
