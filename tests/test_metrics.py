"""Metrics against planted truth."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.core.metrics import (
    aspect_scores,
    cosine_summary,
    gap_closed,
    kmeans_v_measure,
    knn_overlap,
    l2_normalize,
    retention,
)


def blobs(n_per=20, k=4, d=8, spread=0.01, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:k] * 10
    X = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    return X, np.repeat(np.arange(k), n_per)


def test_v_measure_is_one_on_well_separated_blobs():
    X, y = blobs()
    score = kmeans_v_measure(X, y, n_seeds=10)
    assert len(score.values) == 10
    assert score.mean > 0.99


def test_v_measure_is_near_zero_for_labels_unrelated_to_the_clusters():
    X, _ = blobs(n_per=50)
    y = np.random.default_rng(1).integers(0, 4, size=len(X))
    assert kmeans_v_measure(X, y, n_seeds=3).mean < 0.1


def test_v_measure_rejects_one_class_and_mismatched_lengths():
    X, y = blobs()
    with pytest.raises(ValueError, match="at least 2 label classes"):
        kmeans_v_measure(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="80 embeddings but 79 labels"):
        kmeans_v_measure(X, y[:-1])


def test_cosine_and_knn_overlap_of_identical_and_unrelated_embeddings():
    X, _ = blobs(spread=1.0)
    assert cosine_summary(X, X)["mean"] == pytest.approx(1.0)
    assert knn_overlap(X, X, k=10) == pytest.approx(1.0)
    Z = np.random.default_rng(3).normal(size=X.shape)
    assert knn_overlap(X, Z, k=10) < 0.4


def test_retention_and_gap_closed():
    assert retention(0.45, 0.5) == pytest.approx(0.9)
    assert retention(0.3, 0.0) is None
    assert gap_closed(0.2, 0.5, 0.6) == pytest.approx(0.75)
    assert gap_closed(0.5, 0.5, 0.505) is None


def test_l2_normalize_keeps_a_zero_row_zero():
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_aspect_scores_record_has_retention_and_gap():
    X, y = blobs()
    rng = np.random.default_rng(0)
    scores = aspect_scores(rng.normal(size=X.shape), X, X, y, aspect="blob", n_seeds=3)
    record = scores.to_dict()
    assert record["instructed"]["mean"] > 0.99 and record["base"]["mean"] < 0.3
    assert record["retention"] == pytest.approx(1.0) and record["gap_closed"] == pytest.approx(1.0)


def test_v_measure_equals_scikit_learns_on_random_and_edge_labellings():
    from sklearn.metrics import v_measure_score

    from instructlin.core.metrics import v_measure

    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(2, 200))
        truth = rng.integers(0, int(rng.integers(1, 8)), n)
        found = truth.copy() if trial % 4 == 0 else rng.integers(0, int(rng.integers(1, 8)), n)
        assert v_measure(truth, found) == pytest.approx(v_measure_score(truth, found), abs=1e-12)
    words = np.array(["a", "b", "a", "c"])  # string labels, as the datasets give them
    assert v_measure(words, np.array([1, 0, 1, 2])) == pytest.approx(1.0)
    for one, other in ((np.zeros(5), np.zeros(5)), (np.zeros(5), np.arange(5)), (np.arange(5), np.zeros(5))):
        assert v_measure(one, other) == v_measure_score(one, other)
