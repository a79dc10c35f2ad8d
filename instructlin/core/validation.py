"""Input checks for ``InstructionMap``: scikit-learn's ``validate_data`` first, then instructlin's messages.

``validate_data`` runs first so that the estimator keeps scikit-learn's contract (``n_features_in_``,
``feature_names_in_``, sparse, complex and empty input refused, ``y=None`` refused); instructlin then
adds what it promises its users: one line naming both shapes when the pairs do not line up, and one
line naming the array and the first row holding NaN or inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from instructlin.core.checks import check_finite, check_float32_range, non_finite_error, overflow_error
from instructlin.errors import DataError

#: Dtypes kept as given (anything else becomes float64).
FLOATS = (np.float64, np.float32)


def is_torch(X: Any) -> bool:
    """Whether ``X`` is a torch tensor (checked by module name, so torch is never imported here)."""
    return type(X).__module__.startswith("torch")


def as_numpy(X: Any) -> Any:
    """A torch tensor as a numpy array on the CPU (float64 kept, else float32); anything else unchanged."""
    if is_torch(X):
        X = X.detach()
        return (X if str(X.dtype) == "torch.float64" else X.float()).cpu().numpy()
    return X


def check_finite_tensor(X: Any, what: str, *, start: int | None = None) -> None:
    """Refuse NaN or inf in a torch tensor, computed where it lives. With ``start``, ``X`` is mapped output
    beginning at that row, and the refusal says it overflowed float32."""
    bad = ~X.isfinite().reshape(len(X), -1).all(dim=1)
    if bool(bad.any()):
        rows = bad.nonzero().flatten().cpu().numpy()
        raise non_finite_error(rows, what) if start is None else overflow_error(start + int(rows[0]), what)


def float32_weights(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fit's ``W`` (d_in, d_out) and ``b`` as float32 ``coef_`` (d_out, d_in) and ``intercept_``, refused
    where they overflow float32 (pairs of extreme scale), so no map ever holds or writes inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        coef = np.ascontiguousarray(np.asarray(W).T, dtype=np.float32)
        intercept = np.asarray(b, dtype=np.float32)
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise DataError(
            "The fitted map's weights are beyond float32's range (|value| > 3.4e38, or NaN): "
            "X_base and Y_instructed differ in scale by too much. Scale the embeddings (e.g. L2-normalise "
            "them) and fit again."
        )
    return coef, intercept


def _shape(X: Any) -> tuple[int, ...] | None:
    """The shape of an array-like, or None where it has none (None, a scalar, a ragged list)."""
    if X is None:
        return None
    try:
        return tuple(np.shape(X))
    except (ValueError, TypeError):
        return None


def _pairs_message(shape_x: Any, shape_y: Any) -> str:
    return (
        f"X_base has shape {shape_x} and Y_instructed has shape {shape_y}; X_base must be 2-D, Y_instructed "
        "2-D (or 1-D), with the same number of rows (one base and one instructed embedding per text)."
    )


def _pairs_misaligned(shape_x: tuple[int, ...] | None, shape_y: tuple[int, ...] | None) -> bool:
    if shape_x is None or shape_y is None:
        return False
    return len(shape_x) != 2 or len(shape_y) != 2 or shape_x[0] != shape_y[0]


def validate_pairs(estimator: Any, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Paired rows as finite float arrays ``(n, d_in)`` and ``(n, d_out)``: float32 stays float32 (no
    n x d float64 copy; the solvers convert blocks); resets the fitted input info.

    A 1-D ``Y`` is taken as one instructed coordinate per row, ``(n, 1)``, like a regressor's 1-D target.
    """
    X, Y = as_numpy(X), as_numpy(Y)
    shape_x, shape_y = _shape(X), _shape(Y)
    try:  # separately, so that NaN in either reaches instructlin's own message below
        X, Y = validate_data(estimator, X, Y, validate_separately=(
            {"dtype": FLOATS, "ensure_all_finite": False, "ensure_min_samples": 2},
            {"dtype": FLOATS, "ensure_all_finite": False, "ensure_2d": False}))
    except ValueError as err:
        if _pairs_misaligned(shape_x, shape_y):
            raise ValueError(f"{_pairs_message(shape_x, shape_y)} ({err})") from None
        raise
    if len(X) != len(Y):
        raise ValueError(_pairs_message(X.shape, Y.shape))
    if Y.ndim == 1:  # one instructed coordinate per row, as scikit-learn's tools pass a 1-D y
        Y = Y.reshape(-1, 1)
    for array, what in ((X, "X_base"), (Y, "Y_instructed")):
        check_finite(array, what)
        check_float32_range(array, what)
    return X, Y


def validate_rows(estimator: Any, X: Any) -> np.ndarray:
    """Rows to map: a finite float32 or float64 array with the fitted number of columns."""
    X = validate_data(estimator, X, reset=False, dtype=(np.float32, np.float64), ensure_all_finite=False)
    check_finite(X, "X")
    return X


def validate_target(Y: Any, expected: tuple[int, int]) -> np.ndarray:
    """Instructed rows to score against: finite, and of the mapped rows' ``expected`` shape."""
    Y = check_array(as_numpy(Y), dtype=np.float64, ensure_all_finite=False, ensure_2d=False,
                    ensure_min_samples=0)
    given = Y.shape
    if Y.ndim == 1:  # one coordinate per row, as in fit
        Y = Y.reshape(-1, 1)
    if Y.shape != tuple(expected):
        raise ValueError(
            f"Y_instructed has shape {given} but the mapped X has shape {tuple(expected)}; pass one "
            "instructed embedding per row of X."
        )
    check_finite(Y, "Y_instructed")
    return Y
