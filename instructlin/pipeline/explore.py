"""Exploring base, mapped and instructed embeddings point by point: what moved, who the neighbours are,
search and filter, and exports that name rows by their corpus ids."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from instructlin.core.choices import Choice
from instructlin.core.metrics import l2_normalize, neighbour_sets, row_cosine
from instructlin.extras import require
from instructlin.io.csv_export import frame_csv_bytes
from instructlin.sources.listings import shorten

if TYPE_CHECKING:
    import pandas as pd

SPACES = ("base", "mapped", "instructed")
#: Movement columns: the share of a row's k nearest neighbours in the first space that are not among
#: its k nearest in the second (0 = same neighbourhood, 1 = none shared).
MOVES = {
    "instruction moved": ("base", "instructed"),  # what the teacher's instruction did to the row
    "map moved": ("base", "mapped"),  # what the map did to it
    "map missed": ("mapped", "instructed"),  # neighbours the map got wrong
}
COSINE_ERROR = "cosine error"  # 1 - cos(mapped, instructed): how far the mapped vector is from the teacher's


class ExportFormat(Choice):
    """File formats for exported tables."""

    CSV = "csv"
    PARQUET = "parquet"


def _check_views(views: Mapping[str, np.ndarray]) -> int:
    """The number of rows the three spaces share; a missing space or a row mismatch is a ValueError."""
    missing = [s for s in SPACES if s not in views]
    if missing:
        raise ValueError(f"views lack {missing}; pass arrays for {list(SPACES)}.")
    rows = {s: len(views[s]) for s in SPACES}
    if len(set(rows.values())) != 1:
        raise ValueError(f"base, mapped and instructed must have the same rows, got {rows}.")
    return rows["base"]


def neighbour_change(A: np.ndarray, B: np.ndarray, *, k: int = 10) -> np.ndarray:
    """Per row, the share of its ``k`` nearest neighbours (cosine) in ``A`` that are not among its ``k``
    nearest in ``B``: a movement measure that needs no common dimension between the two spaces."""
    if len(A) != len(B):
        raise ValueError(f"A has {len(A)} rows and B has {len(B)}; they must be the same rows.")
    k = min(k, len(A) - 1)
    if k < 1:
        return np.zeros(len(A))
    a, b = neighbour_sets(A, k), neighbour_sets(B, k)
    n = len(A)
    member = np.zeros((n, n), dtype=bool)
    member[np.arange(n)[:, None], b] = True
    return 1.0 - member[np.arange(n)[:, None], a].sum(axis=1) / k


def movement(views: Mapping[str, np.ndarray], *, k: int = 10) -> dict[str, np.ndarray]:
    """Per row: each :data:`MOVES` neighbourhood change and the cosine error of mapped to instructed."""
    _check_views(views)
    found = {name: neighbour_change(views[a], views[b], k=k) for name, (a, b) in MOVES.items()}
    mapped, instructed = np.asarray(views["mapped"], float), np.asarray(views["instructed"], float)
    if mapped.shape[1] == instructed.shape[1]:
        found[COSINE_ERROR] = 1.0 - row_cosine(mapped, instructed)
    return found


def point_table(
    *,
    ids: Sequence[str],
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    moves: Mapping[str, np.ndarray] | None = None,
    coords: Mapping[str, np.ndarray] | None = None,
    max_chars: int | None = None,
) -> pd.DataFrame:
    """One row per point: corpus id, labels, movement, 2-D coordinates (``{space}_x``, ``_y``), then the
    text last (long, so the numbers stay in view in a table)."""
    pd = require("pandas", purpose="explorer tables")
    n = len(ids)
    columns: dict[str, object] = {"id": [str(i) for i in ids]}
    columns.update({name: np.asarray(values).astype(str) for name, values in labels.items()})
    columns.update({name: np.round(np.asarray(values, dtype=float), 4) for name, values in (moves or {}).items()})
    for space, xy in (coords or {}).items():
        xy = np.asarray(xy, dtype=float)
        columns[f"{space}_x"], columns[f"{space}_y"] = xy[:, 0], xy[:, 1]
    columns["text"] = [t if max_chars is None else shorten(t, max_chars) for t in texts]
    lengths = {name: len(values) for name, values in columns.items()}
    if any(length != n for length in lengths.values()):
        raise ValueError(f"every column needs {n} rows (one per id), got {lengths}.")
    return pd.DataFrame(columns)


def moved_most(table: pd.DataFrame, *, by: str = "instruction moved", top: int = 20) -> pd.DataFrame:
    """The ``top`` rows of a :func:`point_table` that moved most by column ``by``, largest first; ties
    go to the other movement columns, then the corpus id, so the order never depends on the input's."""
    measures = [c for c in (*MOVES, COSINE_ERROR) if c in table.columns]
    if by not in measures:
        raise ValueError(f"no movement column {by!r} to rank by; choose one of {measures}.")
    keys = [by, *(c for c in measures if c != by), "id"]
    return table.sort_values(keys, ascending=[False] * (len(keys) - 1) + [True], kind="stable").head(top)


def nearest(views: Mapping[str, np.ndarray], row: int, *, k: int = 5) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """In each space, the ``k`` rows nearest to ``row`` by cosine (itself left out), nearest first, and
    their cosine similarities to it."""
    n = _check_views(views)
    if not 0 <= row < n:
        raise ValueError(f"row {row} is outside the {n} rows shown; pick a row from 0 to {n - 1}.")
    k = max(0, min(k, n - 1))
    found = {}
    for space in SPACES:
        X = l2_normalize(views[space])
        sim = X @ X[row]
        sim[row] = -np.inf
        order = np.argsort(-sim, kind="stable")[:k]
        found[space] = (order, sim[order])
    return found


def neighbour_tables(
    views: Mapping[str, np.ndarray],
    row: int,
    *,
    ids: Sequence[str],
    texts: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    k: int = 5,
    max_chars: int = 160,
) -> dict[str, pd.DataFrame]:
    """:func:`nearest` as one small table per space: rank, corpus id, cosine, labels and text."""
    pd = require("pandas", purpose="explorer tables")
    tables = {}
    for space, (rows, sims) in nearest(views, row, k=k).items():
        tables[space] = pd.DataFrame({
            "rank": np.arange(1, len(rows) + 1), "id": [str(ids[i]) for i in rows], "cosine": np.round(sims, 4),
            **{name: [str(values[i]) for i in rows] for name, values in labels.items()},
            "text": [shorten(texts[i], max_chars) for i in rows]})
    return tables


def shared_neighbours_count(tables: Mapping[str, pd.DataFrame], space: str, other: str = "instructed") -> int:
    """How many of ``space``'s listed neighbours are also among ``other``'s."""
    return len(set(tables[space]["id"]) & set(tables[other]["id"]))


def matching_rows(
    texts: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    query: str = "",
    labels: Mapping[str, Sequence[str]] | None = None,
    keep: Mapping[str, Collection[str]] | None = None,
) -> np.ndarray:
    """Positions of the rows whose text or id contains ``query`` (any case; words all present, in any
    order) and whose label in each column of ``keep`` is one of those kept (an empty set keeps all)."""
    mask = np.ones(len(texts), dtype=bool)
    words = query.casefold().split()
    if words:
        haystack = [f"{t} {ids[i] if ids is not None else ''}".casefold() for i, t in enumerate(texts)]
        mask &= np.array([all(w in h for w in words) for h in haystack], dtype=bool)
    for column, kept in (keep or {}).items():
        if not kept:
            continue
        if labels is None or column not in labels:
            raise ValueError(f"no label column {column!r} to filter by; columns: {list(labels or {})}.")
        mask &= np.isin(np.asarray(labels[column]).astype(str), [str(v) for v in kept])
    return np.flatnonzero(mask)


def export_bytes(table: pd.DataFrame, fmt: ExportFormat | str = ExportFormat.CSV) -> bytes:
    """A table as CSV (UTF-8) or Parquet bytes, for a download."""
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.PARQUET:
        require("pyarrow", purpose="Parquet export")
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return frame_csv_bytes(table)
