"""Stand-in measures: do mapped vectors behave like the teacher's own in the teacher's index?

Clustering scores say whether a map keeps the teacher's groups; these say whether its vectors can
replace re-encoded ones. Every query is a teacher embedding, as it is for a user who re-encodes new
queries with the teacher and searches a corpus that was partly mapped. Queries never find themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from instructlin.core.metrics import cosine_neighbours, ndcg_of_index, row_cosine

#: Neighbours per query.
K = 10


def _check(mapped: np.ndarray, teacher: np.ndarray) -> int:
    if mapped.shape != teacher.shape or mapped.ndim != 2:
        raise ValueError(f"mapped {mapped.shape} and teacher {teacher.shape} must be the same (n, d) rows.")
    return min(K, len(teacher) - 1)


def teacher_neighbours(teacher: np.ndarray) -> np.ndarray:
    """Each teacher row's 10 nearest other teacher rows: the truth recall is measured against."""
    return cosine_neighbours(teacher, teacher, min(K, len(teacher) - 1), exclude_self=True)


def teacher_recall(mapped: np.ndarray, teacher: np.ndarray, *, truth: np.ndarray | None = None) -> float:
    """Share of each teacher query's 10 nearest teacher rows that come back from an index of the
    mapped rows instead (1.0: the map keeps the teacher's neighbours; Drift-Adapter's protocol).
    ``truth``: :func:`teacher_neighbours` of ``teacher``, when it is already at hand."""
    k = _check(mapped, teacher)
    if k < 1:
        return float("nan")
    truth = teacher_neighbours(teacher) if truth is None else truth
    found = cosine_neighbours(teacher, mapped, k, exclude_self=True)
    hits = sum(len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(truth, found, strict=True))
    return hits / (len(teacher) * k)


def mixed_index(mapped: np.ndarray, teacher: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Half the rows (seeded) by their teacher vector, half by their mapped one, and which are teacher."""
    n = len(teacher)
    is_teacher = np.zeros(n, dtype=bool)
    is_teacher[np.random.default_rng(seed).permutation(n)[: n // 2]] = True
    return np.where(is_teacher[:, None], teacher, mapped), is_teacher


def mixed_share(mapped: np.ndarray, teacher: np.ndarray, *, seed: int = 0) -> float:
    """Share of teacher-encoded rows among teacher queries' 10 nearest in a half-mapped index:
    0.5 means the two kinds mix fairly; below, mapped vectors crowd in (too tight); above, they hide."""
    k = _check(mapped, teacher)
    if k < 1:
        return float("nan")
    index, is_teacher = mixed_index(mapped, teacher, seed=seed)
    return float(np.mean(is_teacher[cosine_neighbours(teacher, index, k, exclude_self=True)]))


@dataclass(frozen=True)
class StandIn:
    """The stand-in measures of one map on one test part (``ndcg`` ones only where labels are given)."""

    cosine_base: float
    cosine_mapped: float
    recall10_base: float
    recall10_mapped: float
    mixed_share: float
    ndcg10_mixed: float | None = None
    ndcg10_teacher: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def stand_in(base: np.ndarray, mapped: np.ndarray, teacher: np.ndarray, labels: np.ndarray | None = None,
             *, seed: int = 0) -> StandIn:
    """Every stand-in measure of ``mapped`` against ``teacher``, with the unmapped ``base`` beside it."""
    base, mapped, teacher = (np.asarray(a, dtype=np.float64) for a in (base, mapped, teacher))
    ndcg_mixed = ndcg_teacher = None
    if labels is not None:
        ndcg_mixed = ndcg_of_index(teacher, mixed_index(mapped, teacher, seed=seed)[0], labels, k=K)
        ndcg_teacher = ndcg_of_index(teacher, teacher, labels, k=K)
    truth = teacher_neighbours(teacher)
    return StandIn(
        float(row_cosine(base, teacher).mean()), float(row_cosine(mapped, teacher).mean()),
        teacher_recall(base, teacher, truth=truth), teacher_recall(mapped, teacher, truth=truth),
        mixed_share(mapped, teacher, seed=seed), ndcg_mixed, ndcg_teacher,
    )
