"""The closed-form map families' fit: the PCA basis of the corpus, label-free CV over the candidates, one solve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instructlin.core.choices import Criterion, MapMethod, Prior
from instructlin.core.moments import pair_moments
from instructlin.core.selection import best, candidate_grid, cross_validate
from instructlin.core.solvers import (
    PCABasis,
    RidgeProblem,
    affine_from_features,
    alpha_scale,
    alpha_scale_of,
    pca_basis,
)
from instructlin.core.validation import as_numpy

#: Rows of unpaired base embeddings the PCA basis is learned from, at most (seeded subsample).
MAX_BASIS_ROWS = 20_000
#: The largest PCA basis pca-ridge uses.
MAX_COMPONENTS = 256


@dataclass(frozen=True)
class ClosedFormFit:
    """One fitted ``(W, b)`` (W is d_in x d_out) and what chose it; ``cv_results`` empty when nothing was left open."""

    W: np.ndarray
    b: np.ndarray
    method: MapMethod
    prior: str
    alpha: float
    size: int | None
    cv_results: list[dict]


def fit_closed_form(
    X: np.ndarray, Y: np.ndarray, method: MapMethod, X_unpaired: Any, *, prior: str, alpha: float | str,
    rank: int | str, n_components: int | str, alphas: tuple[float, ...] | None, criterion: str, cv: int,
    random_state: int,
) -> ClosedFormFit:
    """Fit a ridge-family map (``auto``, ``ridge``, ``reduced-rank`` or ``pca-ridge``) on validated pairs;
    settings left at ``"auto"`` are chosen by CV on the pairs alone, maximising ``criterion``."""
    if prior != "auto":
        Prior(prior)  # a clear error for a typo
        if prior in (Prior.IDENTITY, Prior.SCALED):
            require_square(X, Y, f"prior={prior!r}")
    basis = corpus_basis(X, X_unpaired, seed=random_state) if method in (MapMethod.AUTO, MapMethod.PCA_RIDGE) else None
    candidates = candidate_grid(
        method.value, prior=prior, alpha=alpha, rank=rank, n_components=n_components, alphas=alphas,
        n_train=X.shape[0], n_basis=0 if basis is None else len(basis.components),
        square=X.shape[1] == Y.shape[1], folds=cv,
    )
    chosen, cv_results = candidates[0], []
    if len(candidates) > 1:
        goal = Criterion(criterion)
        scores = cross_validate(X, Y, candidates, basis=basis, folds=cv, seed=random_state,
                                with_neighbours=goal is Criterion.NEIGHBOURS)
        chosen = best(scores, goal).candidate
        cv_results = [s.to_dict() for s in scores]
    W, b, absolute_alpha = solve(chosen.method, X, Y, prior=chosen.prior, alpha=chosen.alpha, size=chosen.size,
                                 basis=basis, relative_alpha=not chosen.absolute)
    return ClosedFormFit(W, b, MapMethod(chosen.method), chosen.prior, absolute_alpha, chosen.size, cv_results)


def corpus_basis(X: np.ndarray, X_unpaired: Any, *, seed: int) -> PCABasis:
    """The PCA basis of the base rows of the whole corpus (``X_unpaired``), or of the pairs' when not given;
    at most ``MAX_BASIS_ROWS`` rows (a seeded sample) and ``MAX_COMPONENTS`` directions."""
    rows = X if X_unpaired is None else as_numpy(X_unpaired)
    if not isinstance(rows, np.ndarray):
        rows = np.asarray(rows, dtype=np.float64)
    if len(rows.shape) != 2 or rows.shape[1] != X.shape[1]:
        raise ValueError(
            f"X_unpaired has shape {tuple(rows.shape)}; it must be base embeddings of d={X.shape[1]}."
        )
    if len(rows) > MAX_BASIS_ROWS:  # sample before any float64 copy
        pick = np.random.default_rng(seed).choice(len(rows), MAX_BASIS_ROWS, replace=False)
        rows = rows[np.sort(pick)]
    return pca_basis(np.asarray(rows, dtype=np.float64), min(MAX_COMPONENTS, X.shape[0], X.shape[1]))


def require_square(X: np.ndarray, Y: np.ndarray, what: str) -> None:
    """Refuse a map that needs d_in == d_out (an identity-based prior, Procrustes) for other shapes."""
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{what} needs equal dimensions, got X_base d={X.shape[1]} and Y_instructed "
            f"d={Y.shape[1]}; use prior='zero' (or method='ridge')."
        )


def solve(
    method: str, X: np.ndarray, Y: np.ndarray, *, prior: str, alpha: float, size: int | None = None,
    basis: PCABasis | None = None, relative_alpha: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W, b, alpha)`` of one closed-form ridge-family map on all pairs; ``alpha`` is returned
    absolute (relative alphas are multiples of the features' mean squared singular value). With more
    pairs than features the rows enter through block-summed moments, so memory stays O(p d)."""
    if method == "pca-ridge" and basis is None:
        raise ValueError("method='pca-ridge' needs a PCA basis of base embeddings.")
    components = basis.components[:size] if method == "pca-ridge" else None
    n, p = len(X), X.shape[1] if components is None else len(components)
    if n > p:
        moments = pair_moments(X, Y, center=None if components is None else basis.mean, directions=components)
        problem = RidgeProblem.from_moments(moments, Prior(prior), components)
        scale = alpha_scale_of(float(np.trace(moments.FF)), (n, p))
    else:
        F = basis.project(X, size) if components is not None else X
        problem = RidgeProblem.build(F, X, Y, Prior(prior), components)
        scale = alpha_scale(F)
    absolute = alpha * scale if relative_alpha else alpha
    rank = size if method == "reduced-rank" else None
    B = problem.coefficients(absolute, rank)
    W, b = affine_from_features(problem, B, X.shape[1], basis if method == "pca-ridge" else None, size)
    return W, b, float(absolute)
