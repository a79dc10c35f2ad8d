"""Label-free model selection for the map: k-fold CV on the training pairs alone.

Each candidate (method, prior, alpha, rank or number of components) is fitted on k-1 folds and
predicts the held-out fold. The out-of-fold predictions of all training rows are then compared
with the teacher's embeddings of the same rows: by neighbourhood agreement (the share of each
row's 10 nearest neighbours that prediction and teacher share) and by cosine. No label is read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from instructlin.choices import Criterion, Prior
from instructlin.metrics import neighbour_sets, row_cosine, shared_neighbours
from instructlin.solvers import PCABasis, RidgeProblem, affine_from_features, alpha_scale


@dataclass(frozen=True)
class Candidate:
    """One closed-form map to try: ``size`` is the rank (reduced-rank) or components (pca-ridge)."""

    method: str
    prior: str
    alpha: float  # relative to the mean squared singular value of the centred features
    size: int | None = None
    absolute: bool = False  # alpha given by the user as is, not relative


@dataclass(frozen=True)
class CVScore:
    """The CV scores of one candidate (means over the training rows' out-of-fold predictions)."""

    candidate: Candidate
    neighbours: float
    cosine: float

    def score(self, criterion: Criterion) -> float:
        return self.neighbours if criterion is Criterion.NEIGHBOURS else self.cosine

    def to_dict(self) -> dict:
        return {**asdict(self.candidate), "neighbours": self.neighbours, "cosine": self.cosine}


#: Neighbours per row in the neighbourhood criterion.
NEIGHBOURS_K = 10
DEFAULT_ALPHAS = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 10.0)
#: PCA sizes tried: steps of about 1.4x, because with few pairs the best size is sharp (EmbeddingGemma,
#: demo location, 32 pairs: 12 components keep 0.96 of the teacher's V-measure, 8 keep 0.61, 32 keep 0.75).
COMPONENT_SIZES = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
#: CV repeats (new fold seeds) until about this many held-out predictions are scored: one 5-fold split of
#: 32 pairs is too noisy to choose among close candidates; at 200 pairs and more one split is enough.
CV_PREDICTIONS = 200
MAX_CV_REPEATS = 5


def component_grid(n_train: int, n_basis: int) -> tuple[int, ...]:
    """PCA sizes worth trying: COMPONENT_SIZES up to what the pairs and the basis support."""
    limit = min(max(4, n_train), n_basis)
    sizes = [k for k in COMPONENT_SIZES if k <= limit]
    return tuple(sizes) or (min(limit, 4),)


def cv_repeats(n_train: int) -> int:
    """How many k-fold splits to average: enough for about CV_PREDICTIONS held-out rows, at most 5."""
    return int(min(MAX_CV_REPEATS, max(1, -(-CV_PREDICTIONS // max(n_train, 1)))))


def rank_grid(n_train: int) -> tuple[int, ...]:
    """Ranks worth trying for reduced-rank ridge (below the number of pairs)."""
    return tuple(r for r in (2, 4, 8, 16, 32, 64) if r < n_train - 1) or (1,)


#: The families ``method="auto"`` compares.
AUTO_METHODS = ("ridge", "pca-ridge")
#: The priors ``method="auto"`` tries when ``prior="auto"``. Only zero: with few pairs an
#: identity-prior map keeps the base's own geometry, so its held-out neighbourhoods agree with
#: the teacher wherever base and teacher already agree, and CV prefers it even where its clusters
#: are still the base's (EmbeddingGemma, demo location: retention 0.80 against 1.00 for zero).
#: ``criterion="cosine"`` (fidelity of each vector) compares both priors.
AUTO_PRIORS = ("zero",)
#: Below this many pairs ``method="auto"`` fits an identity-prior ridge (the base plus a learned shift):
#: a zero-prior map spans only a few teacher rows and collapses the clusters. Retention, 5 random
#: splits (EmbeddingGemma demo location; MiniLM demo topic): 3 pairs 0.16 vs 0.46 identity (0.30 vs 0.95),
#: 8 pairs 0.32 vs 0.56 (0.53 vs 0.94), 16 pairs 0.51 vs 0.56 (0.89 vs 0.95), 20 pairs 0.54 vs 0.56
#: (0.96 vs 0.96), 24 pairs 0.58 vs 0.64 (0.97 vs 0.90), 32 pairs 0.90 vs 0.50 (0.98 vs 0.93).
MIN_PAIRS_FOR_ZERO_PRIOR = 20


def candidate_grid(
    method: str, *, prior: str, alpha: float | str, rank: int | str, n_components: int | str,
    alphas: tuple[float, ...] | None, n_train: int, n_basis: int, square: bool,
    criterion: str = Criterion.NEIGHBOURS.value,
) -> list[Candidate]:
    """Every candidate the settings leave open; a setting other than ``"auto"`` is held fixed."""
    few = method == "auto" and prior == "auto" and n_train < MIN_PAIRS_FOR_ZERO_PRIOR
    if few:
        priors = [Prior.IDENTITY.value] if square else ["zero"]
    elif prior != "auto":
        priors = [prior]
    elif method == "auto" and criterion == Criterion.NEIGHBOURS.value:
        priors = list(AUTO_PRIORS)
    else:
        priors = ["identity", "zero"] if square else ["zero"]
    if alpha == "auto":
        grid = [(float(a), False) for a in (alphas or DEFAULT_ALPHAS)]
    else:
        grid = [(_positive(alpha, "alpha", allow_zero=True), True)]
    methods = ("ridge",) if few else AUTO_METHODS if method == "auto" else (method,)
    out = []
    for m in methods:
        if m == "reduced-rank":
            sizes = rank_grid(n_train) if rank == "auto" else (_positive(rank, "rank"),)
        elif m == "pca-ridge":
            sizes = component_grid(n_train, n_basis) if n_components == "auto" else (
                min(_positive(n_components, "n_components"), n_basis),)
        else:
            sizes = (None,)
        out += [Candidate(m, p, a, int(k) if k else None, absolute)
                for p in priors for a, absolute in grid for k in sizes]
    return out


def _positive(value, name: str, *, allow_zero: bool = False):
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a positive number or 'auto', got {value!r}.")
    return value


def _fold_predictions(
    candidates: list[Candidate], X: np.ndarray, Y: np.ndarray, coords: np.ndarray | None,
    train: np.ndarray, val: np.ndarray, out: dict[Candidate, np.ndarray],
) -> None:
    """Fill ``out[c][val]`` with each candidate's predictions from a fit on ``train``; ``coords`` are
    the rows' coordinates in the PCA basis (as many as the largest pca-ridge candidate uses)."""
    problems: dict[tuple, tuple[RidgeProblem, np.ndarray, float]] = {}
    for c in candidates:
        key = (c.method, c.prior, c.size if c.method == "pca-ridge" else None)
        if key not in problems:
            if c.method == "pca-ridge":
                F_tr, F_val = coords[train, : c.size], coords[val, : c.size]
            else:
                F_tr, F_val = X[train], X[val]
            problem = RidgeProblem.build(F_tr, X[train], Y[train], Prior(c.prior))
            problems[key] = (problem, problem.features(F_val), alpha_scale(F_tr))
        problem, val_coords, scale = problems[key]
        scale = 1.0 if c.absolute else scale
        rank = c.size if c.method == "reduced-rank" else None
        out[c][val] = problem.predict(None, X[val], scale * c.alpha, rank, coords=val_coords)


def _compressed_outputs(Y: np.ndarray, candidates: list[Candidate]) -> np.ndarray:
    """``Y`` in an orthonormal basis of its rows' span, when every candidate has the zero prior: each
    CV prediction (a fold mean plus a mix of train rows) lies in that span, so cosines and neighbours
    are unchanged, and with few pairs the outputs shrink from d to n columns. Otherwise ``Y``."""
    if any(c.prior != Prior.ZERO.value for c in candidates) or Y.shape[0] >= Y.shape[1]:
        return Y
    Q, _ = np.linalg.qr(Y.T)  # (d, n)
    return Y @ Q


def cross_validate(
    X: np.ndarray, Y: np.ndarray, candidates: list[Candidate], *, basis: PCABasis | None = None,
    folds: int = 5, seed: int = 42, repeats: int | None = None,
) -> list[CVScore]:
    """Score every candidate by k-fold CV on the pairs ``(X, Y)``, averaged over ``repeats`` fold
    seeds (default: :func:`cv_repeats`); labels are never involved."""
    from sklearn.model_selection import KFold

    folds = max(2, min(folds, len(X)))
    repeats = cv_repeats(len(X)) if repeats is None else max(1, int(repeats))
    Y = _compressed_outputs(Y, candidates)
    sizes = [c.size for c in candidates if c.method == "pca-ridge"]
    if sizes and basis is None:
        raise ValueError("method='pca-ridge' needs a PCA basis of base embeddings.")
    coords = basis.project(X, max(sizes)) if sizes else None
    k = min(NEIGHBOURS_K, len(X) - 1)
    teacher = neighbour_sets(Y, k)
    totals = {c: np.zeros(2) for c in candidates}
    for repeat in range(repeats):
        oof = {c: np.zeros(Y.shape, dtype=np.float32) for c in candidates}  # float32: neighbours rank as in float64
        for train, val in KFold(folds, shuffle=True, random_state=seed + repeat).split(X):
            _fold_predictions(candidates, X, Y, coords, train, val, oof)
        for c in candidates:
            totals[c] += (shared_neighbours(neighbour_sets(oof[c], k), teacher), row_cosine(oof[c], Y).mean())
    return [CVScore(c, float(totals[c][0] / repeats), float(totals[c][1] / repeats)) for c in candidates]


def best(scores: list[CVScore], criterion: Criterion) -> CVScore:
    """The highest-scoring candidate; ties go to the earlier (simpler) one."""
    values = np.array([s.score(criterion) for s in scores])
    values = np.where(np.isfinite(values), values, -np.inf)
    return scores[int(np.argmax(values))]


def solve(
    method: str, X: np.ndarray, Y: np.ndarray, *, prior: str, alpha: float, size: int | None = None,
    basis: PCABasis | None = None, relative_alpha: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W, b, alpha)`` of one closed-form ridge-family map on all pairs; ``alpha`` is returned
    absolute (relative alphas are multiples of the features' mean squared singular value)."""
    if method == "pca-ridge":
        if basis is None:
            raise ValueError("method='pca-ridge' needs a PCA basis of base embeddings.")
        F = basis.project(X, size)
    else:
        F = X
    problem = RidgeProblem.build(F, X, Y, Prior(prior))
    absolute = alpha * alpha_scale(F) if relative_alpha else alpha
    rank = size if method == "reduced-rank" else None
    B = problem.coefficients(absolute, rank)
    W, b = affine_from_features(problem, B, X.shape[1], basis if method == "pca-ridge" else None, size)
    return W, b, float(absolute)
