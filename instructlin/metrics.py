"""Clustering quality and closeness of mapped to instructed embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from instructlin.mapping import row_cosine


@dataclass(frozen=True)
class Score:
    """Mean and standard deviation of one metric over repeated k-means seeds."""

    mean: float
    sd: float
    values: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd}


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def kmeans_labels(X: np.ndarray, n_clusters: int, *, seed: int) -> np.ndarray:
    """k-means cluster ids of the L2-normalised rows (one initialisation per seed)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
    return model.fit_predict(l2_normalize(X))


def kmeans_v_measure(X: np.ndarray, labels: np.ndarray, *, n_seeds: int = 10) -> Score:
    """V-measure of k-means (k = number of label classes) against ``labels``, over seeds 0..n-1.

    The same settings serve base, mapped and instructed embeddings so they can be compared.
    """
    from sklearn.metrics import v_measure_score

    labels = np.asarray(labels)
    if len(labels) != len(X):
        raise ValueError(f"{len(X)} embeddings but {len(labels)} labels; they must match.")
    k = len(np.unique(labels))
    if k < 2:
        raise ValueError("V-measure needs at least 2 label classes, got 1.")
    values = tuple(
        float(v_measure_score(labels, kmeans_labels(X, k, seed=seed))) for seed in range(n_seeds)
    )
    return Score(float(np.mean(values)), float(np.std(values)), values)


def cosine_summary(A: np.ndarray, B: np.ndarray) -> dict[str, float]:
    """Mean and median row-wise cosine between ``A`` and ``B``."""
    cos = row_cosine(np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64))
    return {"mean": float(cos.mean()), "median": float(np.median(cos))}


def knn_overlap(A: np.ndarray, B: np.ndarray, *, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours (cosine) that ``A`` and ``B`` agree on."""
    n = len(A)
    k = min(k, n - 1)
    if k < 1:
        return float("nan")

    def neighbours(X: np.ndarray) -> np.ndarray:
        Xn = l2_normalize(X)
        sim = Xn @ Xn.T
        np.fill_diagonal(sim, -np.inf)
        return np.argpartition(-sim, k, axis=1)[:, :k]

    na, nb = neighbours(A), neighbours(B)
    return float(np.mean([len(np.intersect1d(na[i], nb[i])) / k for i in range(n)]))


def retention(mapped: float, instructed: float) -> float | None:
    """V(mapped) / V(instructed): the share of the re-encoding's quality that the map keeps."""
    return None if instructed <= 0 else mapped / instructed


def gap_closed(base: float, mapped: float, instructed: float) -> float | None:
    """(V(mapped) - V(base)) / (V(instructed) - V(base)); None when the gap is under 0.01."""
    gap = instructed - base
    return None if abs(gap) < 0.01 else (mapped - base) / gap


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
    return AspectScores(
        aspect,
        kmeans_v_measure(base, labels, n_seeds=n_seeds),
        kmeans_v_measure(mapped, labels, n_seeds=n_seeds),
        kmeans_v_measure(instructed, labels, n_seeds=n_seeds),
    )
