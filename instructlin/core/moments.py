"""Second moments of many pairs, accumulated in row blocks: the ridge solve's only use of the rows.

A ridge-family map needs the pairs only through a few centred products (features with themselves,
with the base and with the teacher, and two traces). Summing them over blocks of rows keeps the
memory of a fit at O(block x d + p x d) whatever the number of pairs, and its time linear in it:
200,000 pairs fit as 2,000 do, without an n x d float64 copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows per block: large enough for BLAS to run at speed, small enough (8,192 x 1,024 float64 = 64 MB).
BLOCK_ROWS = 8192


@dataclass(frozen=True)
class PairMoments:
    """Centred moments of features ``F = (X - center) @ C`` (C: d_in x p, or the identity), base ``X``
    and teacher ``Y`` over ``n`` rows; ``FX`` and ``xy`` are None when the output size differs."""

    n: int
    x_mean: np.ndarray
    y_mean: np.ndarray
    f_mean: np.ndarray
    FF: np.ndarray  # (p, p)
    FY: np.ndarray  # (p, d_out)
    FX: np.ndarray | None  # (p, d_in)
    xx: float  # sum of |x - x_mean|^2
    xy: float | None  # sum of (x - x_mean) . (y - y_mean)


def pair_moments(X: np.ndarray, Y: np.ndarray, *, center: np.ndarray | None = None,
                 directions: np.ndarray | None = None, block: int = BLOCK_ROWS) -> PairMoments:
    """The moments of the pairs ``(X, Y)`` (float32 or float64, any number of rows) in two passes of
    ``block`` rows: the means first, then the products of the centred blocks (no cancellation).
    ``directions`` (p, d_in): the orthonormal rows features measure ``X - center`` along; None: F = X."""
    n, d_in = X.shape
    x_mean = _mean(X, block)
    y_mean = _mean(Y, block)
    C = None if directions is None else np.asarray(directions, dtype=np.float64).T
    f_mean = x_mean if C is None else (x_mean - (0.0 if center is None else center)) @ C
    p = d_in if C is None else C.shape[1]
    square = Y.shape[1] == d_in
    FF, FY = np.zeros((p, p)), np.zeros((p, Y.shape[1]))
    FX = np.zeros((p, d_in)) if square else None
    xx, xy = 0.0, 0.0 if square else None
    for start in range(0, n, block):
        Xc = np.asarray(X[start : start + block], dtype=np.float64) - x_mean
        Yc = np.asarray(Y[start : start + block], dtype=np.float64) - y_mean
        Fc = Xc if C is None else Xc @ C  # F is affine in X: its centred rows are Xc @ C
        FF += Fc.T @ Fc
        FY += Fc.T @ Yc
        xx += float(np.einsum("ij,ij->", Xc, Xc))
        if square:
            FX += Fc.T @ Xc
            xy += float(np.einsum("ij,ij->", Xc, Yc))
    return PairMoments(n, x_mean, y_mean, f_mean, FF, FY, FX, xx, xy)


def _mean(A: np.ndarray, block: int) -> np.ndarray:
    """Column means in float64, one block at a time (no float64 copy of ``A``)."""
    total = np.zeros(A.shape[1])
    for start in range(0, len(A), block):
        total += np.asarray(A[start : start + block], dtype=np.float64).sum(axis=0)
    return total / max(len(A), 1)
