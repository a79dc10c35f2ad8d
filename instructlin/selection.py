"""Label-free model selection for the map: k-fold CV on the training pairs alone.

Each candidate (method, prior, alpha, rank or number of components) is fitted on k-1 folds and
predicts the held-out fold. The out-of-fold predictions of the training rows are then compared
with the teacher's embeddings of the same rows: by similarity profile (how far each prediction's
cosines to the other rows' teacher vectors are from the teacher's own: what a stand-in in the
teacher's index must get right), by neighbourhood agreement (the share of each row's 10 nearest
neighbours that prediction and teacher share) and by cosine. No label is read. CV runs on at most
``MAX_CV_PAIRS`` pairs (a seeded sample), so its cost stops growing with the number of pairs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from instructlin.choices import Criterion, Prior
from instructlin.metrics import l2_normalize, neighbour_sets, row_cosine, shared_neighbours
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
    profile: float = float("nan")  # 1 - RMS gap between predicted and teacher cosines to other teacher rows

    def score(self, criterion: Criterion) -> float:
        return {Criterion.NEIGHBOURS: self.neighbours, Criterion.COSINE: self.cosine,
                Criterion.PROFILE: self.profile}[criterion]

    def to_dict(self) -> dict:
        scores = {"neighbours": self.neighbours, "cosine": self.cosine, "profile": self.profile}
        return {**asdict(self.candidate), **{k: v if np.isfinite(v) else None for k, v in scores.items()}}


#: Neighbours per row in the neighbourhood criterion.
NEIGHBOURS_K = 10
DEFAULT_ALPHAS = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 10.0)
#: CV scores at most this many pairs (a seeded sample); the final map is solved on all of them.
MAX_CV_PAIRS = 2000
#: PCA sizes tried: steps of about 1.4x up to 64 (with few pairs the best size is sharp), then 2x (EmbeddingGemma,
#: demo location, 32 pairs: 12 components keep 0.96 of the teacher's V-measure, 8 keep 0.61, 32 keep 0.75).
COMPONENT_SIZES = (4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256)
#: CV repeats (new fold seeds) until about this many held-out predictions are scored: one 5-fold split of
#: 32 pairs is too noisy to choose among close candidates; at 200 pairs and more one split is enough.
CV_PREDICTIONS = 200
MAX_CV_REPEATS = 5


def component_grid(n_train: int, n_basis: int, folds: int = 5) -> tuple[int, ...]:
    """PCA sizes worth trying: COMPONENT_SIZES below the rows of one CV training fold, within the basis."""
    fold_rows = min(n_train, MAX_CV_PAIRS) * (folds - 1) // folds
    limit = min(max(4, fold_rows - 1), n_basis)
    sizes = [k for k in COMPONENT_SIZES if k <= limit]
    return tuple(sizes) or (min(limit, 4),)


def cv_repeats(n_train: int) -> int:
    """How many k-fold splits to average: enough for about CV_PREDICTIONS held-out rows, at most 5."""
    return int(min(MAX_CV_REPEATS, max(1, -(-CV_PREDICTIONS // max(n_train, 1)))))


def rank_grid(n_train: int) -> tuple[int, ...]:
    """Ranks worth trying for reduced-rank ridge (below the number of pairs)."""
    return tuple(r for r in (2, 4, 8, 16, 32, 64) if r < n_train - 1) or (1,)


#: The family ``method="auto"`` searches, and its prior: pca-ridge shrunk toward a fitted multiple of
#: the identity (``Prior.SCALED``). Chosen on the demo corpus with EmbeddingGemma-300m's location
#: instruction (benchmarks/RESULTS.md says so): against zero- and identity-prior ridge and pca-ridge it
#: was the only one near the teacher by clusters, cosine, the teacher's neighbours and a mixed index at once.
AUTO_METHODS = ("pca-ridge",)
AUTO_PRIOR = Prior.SCALED.value


def candidate_grid(
    method: str, *, prior: str, alpha: float | str, rank: int | str, n_components: int | str,
    alphas: tuple[float, ...] | None, n_train: int, n_basis: int, square: bool, folds: int = 5,
) -> list[Candidate]:
    """Every candidate the settings leave open; a setting other than ``"auto"`` is held fixed."""
    if prior != "auto":
        priors = [prior]
    elif method == "auto":
        priors = [AUTO_PRIOR] if square else [Prior.ZERO.value]
    else:
        priors = [Prior.SCALED.value, Prior.ZERO.value] if square else [Prior.ZERO.value]
    if alpha == "auto":
        grid = [(float(a), False) for a in (alphas or DEFAULT_ALPHAS)]
    else:
        grid = [(_positive(alpha, "alpha", allow_zero=True), True)]
    methods = AUTO_METHODS if method == "auto" else (method,)
    out = []
    for m in methods:
        if m == "reduced-rank":
            sizes = rank_grid(n_train) if rank == "auto" else (_positive(rank, "rank"),)
        elif m == "pca-ridge":
            sizes = component_grid(n_train, n_basis, folds) if n_components == "auto" else (
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
    basis: PCABasis | None, train: np.ndarray, val: np.ndarray, out: dict[Candidate, np.ndarray],
) -> None:
    """Fill ``out[c][val]`` with each candidate's predictions from a fit on ``train``; ``coords`` are
    the rows' coordinates in the PCA basis (as many as the largest pca-ridge candidate uses)."""
    problems: dict[tuple, tuple[RidgeProblem, np.ndarray, float, np.ndarray, np.ndarray]] = {}
    for c in candidates:
        key = (c.method, c.prior, c.size if c.method == "pca-ridge" else None)
        if key not in problems:
            if c.method == "pca-ridge":
                F_tr, F_val = coords[train, : c.size], coords[val, : c.size]
            else:
                F_tr, F_val = X[train], X[val]
            components = basis.components[: c.size] if c.method == "pca-ridge" else None
            problem = RidgeProblem.build(F_tr, X[train], Y[train], Prior(c.prior), components)
            problems[key] = (problem, problem.features(F_val), alpha_scale(F_tr),
                             problem.prior_part(X[val]).astype(np.float32), problem.UtR.astype(np.float32))
        problem, val_coords, scale, prior_part, UtR = problems[key]
        alpha = (1.0 if c.absolute else scale) * c.alpha
        if c.method == "reduced-rank":
            out[c][val] = problem.predict(None, X[val], alpha, c.size, coords=val_coords)
        else:  # the prior's part (alpha-free) once per problem; float32 products, as the scores use
            out[c][val] = prior_part + (val_coords * problem.shrinkage(alpha)).astype(np.float32) @ UtR


def _compressed_outputs(Y: np.ndarray, candidates: list[Candidate]) -> np.ndarray:
    """``Y`` in an orthonormal basis of its rows' span, when every candidate has the zero prior: each
    CV prediction (a fold mean plus a mix of train rows) lies in that span, so cosines and neighbours
    are unchanged, and with few pairs the outputs shrink from d to n columns. Otherwise ``Y``."""
    if any(c.prior != Prior.ZERO.value for c in candidates) or Y.shape[0] >= Y.shape[1]:
        return Y
    Q, _ = np.linalg.qr(Y.T)  # (d, n)
    return Y @ Q


def profile_agreement(predicted: np.ndarray, teacher_unit: np.ndarray) -> float:
    """``1 - RMS`` over pairs i != j of ``cos(t_i, p_j) - cos(t_i, t_j)``: how well each prediction
    stands in for its teacher row in the teacher's index (neighbours, spread and tightness alike).
    ``teacher_unit``: the teacher rows already scaled to unit length."""
    n = len(teacher_unit)
    if n < 2:
        return float("nan")
    norms = np.linalg.norm(predicted, axis=1, keepdims=True)
    D = teacher_unit - predicted / np.maximum(norms, 1e-12).astype(predicted.dtype)  # t_i . d_j = the gap
    G = teacher_unit @ D.T
    off = float(np.einsum("ij,ij->", G, G, dtype=np.float64)) - float(
        np.sum(np.einsum("ij,ij->i", teacher_unit, D, dtype=np.float64) ** 2))
    return 1.0 - float(np.sqrt(max(off, 0.0) / (n * (n - 1))))


def cross_validate(
    X: np.ndarray, Y: np.ndarray, candidates: list[Candidate], *, basis: PCABasis | None = None,
    folds: int = 5, seed: int = 42, repeats: int | None = None, with_neighbours: bool = True,
) -> list[CVScore]:
    """Score every candidate by k-fold CV on the pairs ``(X, Y)`` (at most ``MAX_CV_PAIRS`` of them),
    averaged over ``repeats`` fold seeds (default: :func:`cv_repeats`); labels are never involved.
    ``with_neighbours=False`` skips the neighbourhood score (NaN), the costliest, where it is not the criterion."""
    from sklearn.model_selection import KFold

    if len(X) > MAX_CV_PAIRS:
        pick = np.sort(np.random.default_rng(seed).choice(len(X), MAX_CV_PAIRS, replace=False))
        X, Y = X[pick], Y[pick]
    folds = max(2, min(folds, len(X)))
    repeats = cv_repeats(len(X)) if repeats is None else max(1, int(repeats))
    Y = _compressed_outputs(Y, candidates)
    sizes = [c.size for c in candidates if c.method == "pca-ridge"]
    if sizes and basis is None:
        raise ValueError("method='pca-ridge' needs a PCA basis of base embeddings.")
    coords = basis.project(X, max(sizes)) if sizes else None
    k = min(NEIGHBOURS_K, len(X) - 1)
    teacher = neighbour_sets(Y, k) if with_neighbours else None
    teacher_unit = l2_normalize(Y).astype(np.float32)
    totals = {c: np.zeros(3) for c in candidates}
    for repeat in range(repeats):
        oof = {c: np.zeros(Y.shape, dtype=np.float32) for c in candidates}  # float32: ranks and gaps as in float64
        for train, val in KFold(folds, shuffle=True, random_state=seed + repeat).split(X):
            _fold_predictions(candidates, X, Y, coords, basis, train, val, oof)
        for c in candidates:
            shared = shared_neighbours(neighbour_sets(oof[c], k), teacher) if with_neighbours else np.nan
            totals[c] += (shared, row_cosine(oof[c], teacher_unit).mean(), profile_agreement(oof[c], teacher_unit))
    return [CVScore(c, *(float(v) for v in totals[c] / repeats)) for c in candidates]


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
    components = basis.components[:size] if method == "pca-ridge" else None
    problem = RidgeProblem.build(F, X, Y, Prior(prior), components)
    absolute = alpha * alpha_scale(F) if relative_alpha else alpha
    rank = size if method == "reduced-rank" else None
    B = problem.coefficients(absolute, rank)
    W, b = affine_from_features(problem, B, X.shape[1], basis if method == "pca-ridge" else None, size)
    return W, b, float(absolute)
