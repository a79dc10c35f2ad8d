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

from instructlin.core.choices import Criterion, Prior
from instructlin.core.cv_scores import ProfileScorer, profile_agreement, profile_from_error
from instructlin.core.metrics import l2_normalize, neighbour_sets, row_cosine, shared_neighbours
from instructlin.core.solvers import PCABasis, RidgeProblem, alpha_scale


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
#: PCA sizes tried: steps of about 1.4x up to 64, since with few pairs the best size is sharp (a step
#: either side can lose much of the retention; docs/stand-in.md), then 2x.
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


def _fold_problems(
    candidates: list[Candidate], X: np.ndarray, Y: np.ndarray, coords: np.ndarray | None,
    basis: PCABasis | None, train: np.ndarray, val: np.ndarray,
) -> list[tuple[RidgeProblem, np.ndarray, float, list[Candidate]]]:
    """The candidates grouped by the ridge problem they share, each problem fitted on ``train``:
    ``(problem, held-out rows' features, alpha scale, candidates)``; ``coords`` are the rows'
    coordinates in the PCA basis (as many as the largest pca-ridge candidate uses)."""
    groups: dict[tuple, list] = {}
    for c in candidates:
        key = (c.method, c.prior, c.size if c.method == "pca-ridge" else None)
        if key not in groups:
            if c.method == "pca-ridge":
                F_tr, F_val = coords[train, : c.size], coords[val, : c.size]
            else:
                F_tr, F_val = X[train], X[val]
            components = basis.components[: c.size] if c.method == "pca-ridge" else None
            problem = RidgeProblem.build(F_tr, X[train], Y[train], Prior(c.prior), components)
            groups[key] = [problem, problem.features(F_val), alpha_scale(F_tr), []]
        groups[key][3].append(c)
    return [tuple(g) for g in groups.values()]


def _alpha(c: Candidate, scale: float) -> float:
    return (1.0 if c.absolute else scale) * c.alpha


def _fold_predictions(groups: list, X_val: np.ndarray, val: np.ndarray, out: dict[Candidate, np.ndarray]) -> None:
    """Fill ``out[c][val]`` with each candidate's held-out predictions (float32, as the scores use)."""
    for problem, val_coords, scale, group in groups:
        prior_part, UtR = problem.prior_part(X_val).astype(np.float32), problem.UtR.astype(np.float32)
        for c in group:
            if c.method == "reduced-rank":
                out[c][val] = problem.predict(None, X_val, _alpha(c, scale), c.size, coords=val_coords)
            else:  # the prior's part (alpha-free) once per problem
                out[c][val] = prior_part + (val_coords * problem.shrinkage(_alpha(c, scale))).astype(np.float32) @ UtR


def _fold_errors(groups: list, X_val: np.ndarray, val: np.ndarray, scorer: ProfileScorer,
                 totals: dict[Candidate, np.ndarray]) -> None:
    """Add each candidate's held-out profile error and cosine sum to ``totals``, from the factors alone."""
    for problem, val_coords, scale, group in groups:
        fold = scorer.fold(problem.prior_part(X_val), problem.UtR, val)
        for c in group:
            totals[c] += fold.score(val_coords * problem.shrinkage(_alpha(c, scale)))


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
    folds: int = 5, seed: int = 42, repeats: int | None = None, with_neighbours: bool = True,
) -> list[CVScore]:
    """Score every candidate by k-fold CV on the pairs ``(X, Y)`` (at most ``MAX_CV_PAIRS`` of them),
    averaged over ``repeats`` fold seeds (default: :func:`cv_repeats`); labels are never involved.
    ``with_neighbours=False`` skips the neighbourhood score (NaN), the costliest, where it is not the
    criterion; the profile and cosine are then scored from each problem's factors (no prediction formed)."""
    from sklearn.model_selection import KFold

    if len(X) > MAX_CV_PAIRS:
        pick = np.sort(np.random.default_rng(seed).choice(len(X), MAX_CV_PAIRS, replace=False))
        X, Y = X[pick], Y[pick]
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    n = len(X)
    folds = max(2, min(folds, n))
    repeats = cv_repeats(n) if repeats is None else max(1, int(repeats))
    Y = _compressed_outputs(Y, candidates)
    sizes = [c.size for c in candidates if c.method == "pca-ridge"]
    if sizes and basis is None:
        raise ValueError("method='pca-ridge' needs a PCA basis of base embeddings.")
    coords = basis.project(X, max(sizes)) if sizes else None
    factored = not with_neighbours and all(c.method != "reduced-rank" for c in candidates)
    teacher_unit = l2_normalize(Y).astype(np.float32)
    scorer = ProfileScorer(teacher_unit) if factored else None
    k = min(NEIGHBOURS_K, n - 1)
    teacher = neighbour_sets(Y, k) if with_neighbours else None
    totals = {c: np.zeros(3) for c in candidates}
    for repeat in range(repeats):
        oof = {} if factored else {c: np.zeros(Y.shape, dtype=np.float32) for c in candidates}
        errors = {c: np.zeros(2) for c in candidates}  # (profile squared error, cosine sum)
        for train, val in KFold(folds, shuffle=True, random_state=seed + repeat).split(X):
            groups = _fold_problems(candidates, X, Y, coords, basis, train, val)
            if factored:
                _fold_errors(groups, X[val], val, scorer, errors)
            else:
                _fold_predictions(groups, X[val], val, oof)
        for c in candidates:
            if factored:
                totals[c] += (np.nan, errors[c][1] / n, profile_from_error(errors[c][0], n))
                continue
            shared = shared_neighbours(neighbour_sets(oof[c], k), teacher) if with_neighbours else np.nan
            totals[c] += (shared, row_cosine(oof[c], teacher_unit).mean(), profile_agreement(oof[c], teacher_unit))
    return [CVScore(c, *(float(v) for v in totals[c] / repeats)) for c in candidates]


def best(scores: list[CVScore], criterion: Criterion) -> CVScore:
    """The highest-scoring candidate; ties go to the earlier (simpler) one."""
    values = np.array([s.score(criterion) for s in scores])
    values = np.where(np.isfinite(values), values, -np.inf)
    return scores[int(np.argmax(values))]
