"""Clustering quality and closeness of mapped to instructed embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Score:
    """Mean and standard deviation of one metric over repeated k-means seeds."""

    mean: float
    sd: float
    values: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd}


def row_cosine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``A`` with the same row of ``B``."""
    num = np.einsum("ij,ij->i", A, B)
    den = np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1)
    return num / np.maximum(den, 1e-12)


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def kmeans_labels(X: np.ndarray, n_clusters: int, *, seed: int, normalize: bool = True) -> np.ndarray:
    """k-means cluster ids of the L2-normalised rows (one initialisation per seed); ``normalize=False``
    clusters the rows as they are (2-D plot coordinates, where only the position on the page means anything)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
    return model.fit_predict(l2_normalize(X) if normalize else np.asarray(X, dtype=np.float64))


def v_measure(labels: np.ndarray, found: np.ndarray) -> float:
    """V-measure of the clustering ``found`` against ``labels`` (scikit-learn's ``v_measure_score``, from the
    contingency table directly: that function's argument checks cost more than the k-means it scores)."""
    _, truth = np.unique(labels, return_inverse=True)
    _, pred = np.unique(found, return_inverse=True)
    table = np.zeros((truth.max() + 1, pred.max() + 1))
    np.add.at(table, (truth, pred), 1.0)
    n = float(len(truth))
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    h_true, h_pred = (float(-(c / n * np.log(c / n)).sum()) for c in (rows, cols))
    if h_true == 0.0 or h_pred == 0.0:  # one class or one cluster: scikit-learn's convention
        return 1.0 if h_true == h_pred == 0.0 else 0.0
    i, j = np.nonzero(table)
    joint = table[i, j]
    mutual = float((joint / n * (np.log(joint * n) - np.log(rows[i] * cols[j]))).sum())
    homogeneity, completeness = mutual / h_true, mutual / h_pred
    total = homogeneity + completeness
    return 0.0 if total == 0.0 else 2.0 * homogeneity * completeness / total


def kmeans_v_measure(X: np.ndarray, labels: np.ndarray, *, n_seeds: int = 10, normalize: bool = True) -> Score:
    """V-measure of k-means (k = number of label classes) against ``labels``, over seeds 0..n-1.

    The same settings serve base, mapped and instructed embeddings so they can be compared.
    """
    return kmeans_v_scores(X, [labels], n_seeds=n_seeds, normalize=normalize)[0]


def kmeans_v_scores(
    X: np.ndarray, labellings: Sequence[np.ndarray], *, n_seeds: int = 10, normalize: bool = True
) -> list[Score]:
    """:func:`kmeans_v_measure` against each of several labellings of the rows of ``X``; labellings with as
    many classes share their k-means runs (the same clusterings, clustered once)."""
    labellings = [np.asarray(labels) for labels in labellings]
    for labels in labellings:
        if len(labels) != len(X):
            raise ValueError(f"{len(X)} embeddings but {len(labels)} labels; they must match.")
    ks = [len(np.unique(labels)) for labels in labellings]
    if ks and min(ks) < 2:
        raise ValueError("V-measure needs at least 2 label classes, got 1.")
    runs = {k: [kmeans_labels(X, k, seed=seed, normalize=normalize) for seed in range(n_seeds)] for k in set(ks)}
    scores = []
    for labels, k in zip(labellings, ks, strict=True):
        values = tuple(v_measure(labels, found) for found in runs[k])
        scores.append(Score(float(np.mean(values)), float(np.std(values)), values))
    return scores


def cosine_summary(A: np.ndarray, B: np.ndarray) -> dict[str, float]:
    """Mean and median row-wise cosine between ``A`` and ``B``."""
    cos = row_cosine(np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64))
    return {"mean": float(cos.mean()), "median": float(np.median(cos))}


def neighbour_sets(X: np.ndarray, k: int) -> np.ndarray:
    """Indices (n, k) of each row's ``k`` nearest other rows by cosine, nearest first; computed in blocks
    of rows, so memory grows with n, not n^2."""
    return cosine_neighbours(X, X, k, exclude_self=True)


def shared_neighbours(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of the neighbour sets ``a`` and ``b`` (both (n, k) indices) that agree, row by row
    (an n x k x k comparison: no n x n table)."""
    n, k = a.shape
    agree = 0
    for start in range(0, n, QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        agree += int((a[block, :, None] == b[block, None, :]).any(axis=2).sum())
    return float(agree / (n * k))


def knn_overlap(A: np.ndarray, B: np.ndarray, *, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours (cosine) that ``A`` and ``B`` agree on."""
    k = min(k, len(A) - 1)
    if k < 1:
        return float("nan")
    return shared_neighbours(neighbour_sets(A, k), neighbour_sets(B, k))


#: Below this V-measure the re-encoding finds no clusters, so a ratio to it means nothing ("n/a").
MIN_MEANINGFUL_V = 0.05
#: Below this difference between instructed and base V there is no gap to close ("n/a").
MIN_MEANINGFUL_GAP = 0.03


def retention(mapped: float, instructed: float) -> float | None:
    """V(mapped) / V(instructed): the share of the re-encoding's quality that the map keeps.

    None (shown as n/a) when V(instructed) is under ``MIN_MEANINGFUL_V``: there is nothing to keep.
    """
    return None if instructed < MIN_MEANINGFUL_V else mapped / instructed


def gap_closed(base: float, mapped: float, instructed: float) -> float | None:
    """(V(mapped) - V(base)) / (V(instructed) - V(base)); None when the gap is under ``MIN_MEANINGFUL_GAP``."""
    gap = instructed - base
    return None if abs(gap) < MIN_MEANINGFUL_GAP else (mapped - base) / gap


@dataclass(frozen=True)
class AspectScores:
    """V-measure of base, mapped and instructed embeddings against one labelling."""

    aspect: str
    base: Score
    mapped: Score
    instructed: Score

    @property
    def retention(self) -> float | None:
        return retention(self.mapped.mean, self.instructed.mean)

    @property
    def gap_closed(self) -> float | None:
        return gap_closed(self.base.mean, self.mapped.mean, self.instructed.mean)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k).to_dict() for k in ("base", "mapped", "instructed")}
        return {**out, "retention": self.retention, "gap_closed": self.gap_closed}


def aspect_scores(
    base: np.ndarray, mapped: np.ndarray, instructed: np.ndarray, labels: np.ndarray,
    *, aspect: str, n_seeds: int = 10,
) -> AspectScores:
    """Score the three embeddings of the same rows against one labelling, same k-means settings."""
    return labelling_scores(base, mapped, instructed, {aspect: labels}, n_seeds=n_seeds)[aspect]


def labelling_scores(
    base: np.ndarray, mapped: np.ndarray, instructed: np.ndarray, labels: Mapping[str, np.ndarray],
    *, n_seeds: int = 10,
) -> dict[str, AspectScores]:
    """:func:`aspect_scores` against every labelling in ``labels``, each space clustered once per seed and k."""
    names = list(labels)
    spaces = [kmeans_v_scores(X, [labels[n] for n in names], n_seeds=n_seeds) for X in (base, mapped, instructed)]
    return {name: AspectScores(name, *(found[i] for found in spaces)) for i, name in enumerate(names)}


#: Queries scored per block in :func:`cosine_neighbours`: memory stays at QUERY_BLOCK x keys similarities.
QUERY_BLOCK = 1024


def cosine_neighbours(queries: np.ndarray, keys: np.ndarray, k: int, *, exclude_self: bool) -> np.ndarray:
    """Indices (n, k) of each query's ``k`` nearest keys by cosine, nearest first, in blocks of queries;
    ``exclude_self``: query ``i`` and key ``i`` are the same text, so it never returns its own row."""
    Q, K = l2_normalize(queries), l2_normalize(keys)
    out = np.empty((len(Q), k), dtype=np.intp)
    for start in range(0, len(Q), QUERY_BLOCK):
        sim = Q[start : start + QUERY_BLOCK] @ K.T
        if exclude_self:
            rows = np.arange(len(sim))
            sim[rows, start + rows] = -np.inf
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
        out[start : start + len(sim)] = np.take_along_axis(top, order, axis=1)
    return out


def knn_accuracy(queries: np.ndarray, query_labels: np.ndarray, reference: np.ndarray,
                 reference_labels: np.ndarray, *, k: int = 10) -> float:
    """Share of queries whose majority label among their ``k`` nearest reference rows is right.

    The reference is the train part's instructed embeddings: the classifier a user of the teacher
    would build, applied to base, mapped or instructed test rows alike.
    """
    query_labels, reference_labels = np.asarray(query_labels), np.asarray(reference_labels)
    if len(reference) < 1 or len(queries) < 1:
        return float("nan")
    k = min(k, len(reference))
    classes, ref_codes = np.unique(reference_labels, return_inverse=True)
    votes = ref_codes[cosine_neighbours(queries, reference, k, exclude_self=False)]
    counts = np.stack([(votes == c).sum(axis=1) for c in range(len(classes))], axis=1)
    return float(np.mean(classes[np.argmax(counts, axis=1)] == query_labels))


def ndcg_at_k(X: np.ndarray, labels: np.ndarray, *, k: int = 10) -> float:
    """Retrieval within ``X``: each row queries the others; a hit is a row with the same label."""
    return ndcg_of_index(X, X, labels, k=k)


def ndcg_of_index(queries: np.ndarray, index: np.ndarray, labels: np.ndarray, *, k: int = 10) -> float:
    """NDCG@k of each query's neighbours in ``index``, where row i of both is one text (never returned
    for its own query): a hit is a row with the query's label."""
    labels = np.asarray(labels)
    k = min(k, len(index) - 1)
    if k < 1:
        return float("nan")
    hits = labels[cosine_neighbours(queries, index, k, exclude_self=True)] == labels[:, None]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discount).sum(axis=1)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    ideal_hits = np.minimum(counts[inverse] - 1, k)
    idcg = np.cumsum(discount)[np.maximum(ideal_hits, 1) - 1]
    ndcg = np.where(ideal_hits > 0, dcg / idcg, 0.0)
    return float(ndcg[ideal_hits > 0].mean()) if np.any(ideal_hits > 0) else float("nan")
