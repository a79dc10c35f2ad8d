"""User tables (CSV, Parquet, JSONL) read and checked into a :class:`TextDataset`, with errors that say the fix."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from instructlin.errors import JSON_ERRORS, DataError
from instructlin.extras import require
from instructlin.sources.text_dataset import SUPPORTED_SUFFIXES, TextDataset

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["dataset_from_frame", "labelling_problem", "load_table", "read_table"]


def read_table(path: str | Path, *, nrows: int | None = None) -> pd.DataFrame:
    """A CSV / Parquet / JSONL file as a DataFrame (its first ``nrows`` rows if given), with errors
    that name the problem and the fix (missing, empty, not UTF-8, unparsable)."""
    pd = require("pandas", purpose="reading tables")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"Unsupported file type {suffix!r} for {path.name}; use one of {SUPPORTED_SUFFIXES}."
        )
    if not path.exists():
        raise DataError(f"No such file: {path}. Check the path.")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty (0 bytes); pass a file with a header and rows.")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, encoding="utf-8", nrows=nrows)
        if suffix == ".parquet":
            pq = require("pyarrow.parquet", purpose="reading Parquet")
            if nrows is None:
                return pd.read_parquet(path)
            first = next(pq.ParquetFile(path).iter_batches(batch_size=max(nrows, 1)), None)  # decode no more
            return pd.read_parquet(path).head(0) if first is None else first.to_pandas()
        return pd.read_json(path, lines=True, encoding="utf-8", nrows=nrows)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path.name} is not valid UTF-8 (byte {err.start}: {err.object[err.start:err.start + 1]!r})."
            " Re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name} has no columns or rows; pass a non-empty table.") from None
    except (ValueError, TypeError) as err:  # pandas raises TypeError for a JSON line that is not an object
        line = _first_non_object_line(path) if suffix in (".jsonl", ".json") else None
        if line is not None:
            raise DataError(f"{path.name} line {line} is not a JSON object; each line must be one object "
                            'such as {"text": "...", "label": "..."}. Fix or drop that line.') from None
        raise DataError(f"{path.name} could not be parsed as {suffix[1:]}: {err}") from None


def _first_non_object_line(path: Path) -> int | None:
    """The number (from 1) of the first non-blank line of a JSON Lines file that is not a JSON object."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                if not isinstance(json.loads(line), dict):
                    return number
            except JSON_ERRORS:
                return None  # a syntax error: pandas' own message names it
    return None


def load_table(
    path: str | Path,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    drop_empty: bool = False,
    name: str | None = None,
) -> TextDataset:
    """Read a CSV, Parquet or JSONL file with a text column and one or more label columns.

    ``label_columns=None`` takes ``cluster`` if present, else every column but the text and ``id``.
    """
    path = Path(path)
    frame = read_table(path)
    return dataset_from_frame(
        frame,
        text_column=text_column,
        label_columns=label_columns,
        drop_empty=drop_empty,
        name=name or path.name,
    )


def dataset_from_frame(
    frame: pd.DataFrame,
    *,
    text_column: str = "text",
    label_columns: list[str] | None = None,
    drop_empty: bool = False,
    name: str = "table",
) -> TextDataset:
    """Validate a DataFrame and turn it into a :class:`TextDataset` (used for uploads too)."""
    columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no rows; pass a table with at least 2 rows.")
    if text_column not in columns:
        raise DataError(
            f"{name} has no text column {text_column!r}; columns found: {columns}. "
            "Choose the text column with --text-column."
        )
    explicit = label_columns is not None
    if label_columns is None:
        label_columns = ["cluster"] if "cluster" in columns else [
            c for c in columns if c not in (text_column, "id")
        ]
    missing = [c for c in label_columns if c not in columns]
    if missing:
        raise DataError(
            f"{name} has no label column {missing[0]!r}; columns found: {columns}. "
            "Choose label columns with --label-column."
        )
    texts = frame[text_column]
    empty = texts.isna() | texts.astype(str).str.strip().eq("")
    if empty.any():
        rows = np.flatnonzero(empty.to_numpy())
        if not drop_empty:
            raise DataError(
                f"{name}: {int(empty.sum())} of {len(frame)} rows have an empty or missing text "
                f"(rows {rows[:5].tolist()}{'...' if len(rows) > 5 else ''}). "
                "Fix them, or pass drop_empty=True (--drop-empty) to drop them."
            )
        logger.warning("%s: dropping %d rows with empty text", name, len(rows))
        frame = frame.loc[~empty]
    labels: dict[str, np.ndarray] = {}
    for column in label_columns:
        values = frame[column]
        problem = labelling_problem(values)
        if problem and not explicit and "cluster" not in columns:
            logger.warning("%s: column %r is not used as labels: %s", name, column, problem)
            continue
        if problem:
            raise DataError(f"{name}: label column {column!r} {problem}; pick another with --label-column.")
        if values.isna().any():
            raise DataError(
                f"{name}: label column {column!r} has {int(values.isna().sum())} missing values; "
                "fill or drop those rows."
            )
        classes = values.astype(str).unique()
        if len(classes) < 2:
            raise DataError(
                f"{name}: label column {column!r} has one class only ({classes[0]!r}); clustering "
                "needs at least 2 classes. Pick another label column."
            )
        labels[column] = values.astype(str).to_numpy()
    ids = frame["id"].astype(str) if "id" in columns and text_column != "id" else None
    return TextDataset(name=name, texts=frame[text_column].astype(str).tolist(), labels=labels,
                       ids=tuple(ids) if ids is not None and ids.is_unique else None)


def labelling_problem(values: pd.Series) -> str | None:
    """Why a column cannot be a labelling (continuous, or nearly one class per row), else None.

    Such a column gives V-measure 1.0 to any clustering fine enough, so scores would mean nothing.
    """
    pd = require("pandas")
    present = values.dropna()
    if pd.api.types.is_float_dtype(present) and not np.allclose(present, np.round(present)):
        return "holds continuous numbers, not classes"
    n_classes, n_rows = present.astype(str).nunique(), len(present)
    if n_rows and n_classes > n_rows / 2:
        return f"has {n_classes} classes for {n_rows} rows (more than half as many classes as rows)"
    return None
