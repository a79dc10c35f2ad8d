"""Stand-in measures: do mapped vectors behave like the teacher's own in the teacher's index?

Clustering scores say whether a map keeps the teacher's groups; these say whether its vectors can
replace re-encoded ones. Every query is a teacher embedding, as it is for a user who re-encodes new
queries with the teacher and searches a corpus that was partly mapped. Queries never find themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from instructlin.metrics import l2_normalize, row_cosine

#: Neighbours per query.
K = 10
#: Queries scored per block: memory stays at QUERY_BLOCK x n similarities.
QUERY_BLOCK = 1024


def _top_k(queries: np.ndarray, keys: np.ndarray, k: int) -> Iterator[tuple[int, np.ndarray]]:
    """Blocks of ``(first row, indices (b, k) of each query's k nearest keys, nearest first)``; query
    ``i`` and key ``i`` are the same text, so a query never returns its own row."""
    Q, Kn = l2_normalize(queries), l2_normalize(keys)
    for start in range(0, len(Q), QUERY_BLOCK):
        sim = Q[start : start + QUERY_BLOCK] @ Kn.T
        rows = np.arange(len(sim))
        sim[rows, start + rows] = -np.inf
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
        yield start, np.take_along_axis(top, order, axis=1)


def _check(mapped: np.ndarray, teacher: np.ndarray) -> int:
    if mapped.shape != teacher.shape or mapped.ndim != 2:
        raise ValueError(f"mapped {mapped.shape} and teacher {teacher.shape} must be the same (n, d) rows.")
    return min(K, len(teacher) - 1)


def teacher_recall(mapped: np.ndarray, teacher: np.ndarray) -> float:
    """Share of each teacher query's 10 nearest teacher rows that come back from an index of the
    mapped rows instead (1.0: the map keeps the teacher's neighbours; Drift-Adapter's protocol)."""
    k = _check(mapped, teacher)
    if k < 1:
        return float("nan")
    hits = 0
    for (_, truth), (_, found) in zip(_top_k(teacher, teacher, k), _top_k(teacher, mapped, k), strict=True):
        hits += sum(len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(truth, found, strict=True))
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
    return float(np.mean(np.concatenate([is_teacher[top] for _, top in _top_k(teacher, index, k)])))


def ndcg_of_index(queries: np.ndarray, index: np.ndarray, labels: np.ndarray) -> float:
    """NDCG@10 of each query's neighbours in ``index`` (row i of both is one text): same label = relevant."""
    labels = np.asarray(labels)
    k = min(K, len(index) - 1)
    if k < 1:
        return float("nan")
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    ideal = np.minimum(counts[inverse] - 1, k)
    idcg = np.cumsum(discount)[np.maximum(ideal, 1) - 1]
    dcg = np.concatenate([((labels[top] == labels[s : s + len(top), None]) * discount).sum(axis=1)
                          for s, top in _top_k(queries, index, k)])
    keep = ideal > 0
    return float(np.mean(dcg[keep] / idcg[keep])) if keep.any() else float("nan")


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
        ndcg_mixed = ndcg_of_index(teacher, mixed_index(mapped, teacher, seed=seed)[0], labels)
        ndcg_teacher = ndcg_of_index(teacher, teacher, labels)
    return StandIn(
        float(row_cosine(base, teacher).mean()), float(row_cosine(mapped, teacher).mean()),
        teacher_recall(base, teacher), teacher_recall(mapped, teacher), mixed_share(mapped, teacher, seed=seed),
        ndcg_mixed, ndcg_teacher,
    )
