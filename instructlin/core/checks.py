"""Checks on arrays of embeddings: NaN, inf and values float32 cannot hold, refused with the row and the fix."""

from __future__ import annotations

import numpy as np

from instructlin.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def non_finite_error(rows: np.ndarray, what: str) -> DataError:
    """The refusal of input rows holding NaN or inf: how many, the first, and the fix."""
    return DataError(
        f"{what} has {len(rows)} row(s) with NaN or inf (first: row {int(rows[0])}); "
        "re-encode those texts or drop the rows."
    )


def overflow_error(row: int, what: str) -> DataError:
    """The refusal of a result beyond float32's range: which row, why, and the fix."""
    return DataError(
        f"{what} row {row} maps to values beyond float32's range (|value| > 3.4e38, which would be written "
        "as inf): the embeddings or the map's weights are far too large. Scale the embeddings (e.g. "
        "L2-normalise them) and fit the map on scaled ones."
    )


def check_finite(array: np.ndarray, what: str) -> None:
    """Refuse NaN or inf, naming the array and the first bad row."""
    bad = ~np.isfinite(array).all(axis=tuple(range(1, array.ndim)))
    if bad.any():
        raise non_finite_error(np.flatnonzero(bad), what)


def check_float32_range(array: np.ndarray, what: str) -> None:
    """Refuse finite values float32 cannot hold (|value| > 3.4e38): a map's weights and outputs are float32."""
    with np.errstate(invalid="ignore"):
        too_big = np.flatnonzero(np.abs(array).max(axis=tuple(range(1, array.ndim)), initial=0) > FLOAT32_MAX)
    if too_big.size:
        raise DataError(
            f"{what} has {too_big.size} row(s) with values beyond float32's range (|value| > 3.4e38; first: "
            f"row {int(too_big[0])}); embeddings are float32. Scale them (e.g. L2-normalise them) first."
        )


def check_mapped(mapped: np.ndarray, start: int, what: str) -> None:
    """Refuse mapped float32 rows that overflowed (inf, or NaN from inf - inf); one sum when all is well."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(mapped)):
            return
    bad = np.flatnonzero(~np.isfinite(mapped).all(axis=tuple(range(1, mapped.ndim))))
    if bad.size:  # else the sum overflowed on finite values: nothing to refuse
        raise overflow_error(start + int(bad[0]), what)
