"""The few-pair estimators (reduced-rank, pca-ridge) and label-free selection (``method="auto"``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.choices import Prior
from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import kmeans_v_measure
from instructlin.core.selection import Candidate, cross_validate, cv_repeats
from instructlin.core.solvers import pca_basis
from instructlin.pipeline.sampling import select_train_rows, train_test_indices
from instructlin.pipeline.standin import stand_in
from instructlin.sources.datasets import load_demo

TEACHER = Path(__file__).resolve().parents[1] / "data" / "teacher"


def test_reduced_rank_learns_a_planted_rank_two_residual():
    rng = np.random.default_rng(0)
    d = 64
    U, V = rng.normal(size=(d, 2)), rng.normal(size=(d, 2))

    def pairs(n):
        X = rng.normal(size=(n, d))
        return X, X + 0.3 * (X @ U) @ V.T + 0.5 * rng.normal(size=(n, d))

    X, Y = pairs(40)
    X_test, Y_test = pairs(400)
    low = InstructionMap("reduced-rank", rank=2, prior="identity", alpha=1.0).fit(X, Y)
    full = InstructionMap("ridge", prior="identity", alpha=1.0).fit(X, Y)
    assert np.linalg.matrix_rank(low.coef_.T - np.eye(d), tol=1e-5) == 2
    assert np.linalg.matrix_rank(full.coef_.T - np.eye(d), tol=1e-5) > 30
    assert low.score(X_test, Y_test) > full.score(X_test, Y_test) + 0.01
    assert low.describe().startswith("reduced-rank r=2 prior=identity")


def _two_facets(rng, n, A, C, T):
    """Base rows driven by facet z (strong) and f (weak); the teacher by f: a strong instruction."""
    z, f = rng.integers(0, 6, n), rng.integers(0, 6, n)
    X = 1.5 * A[z] + 0.8 * C[f] + rng.normal(size=(n, A.shape[1]))
    Y = T[f] + 0.3 * A[z] + 0.5 * rng.normal(size=(n, A.shape[1]))
    return X, Y, f


def test_pca_ridge_uses_the_unpaired_base_rows():
    rng = np.random.default_rng(0)
    A, C, T = (rng.normal(size=(6, 128)) for _ in range(3))
    unpaired, _, _ = _two_facets(rng, 3000, A, C, T)
    X, Y, _ = _two_facets(rng, 30, A, C, T)
    X_test, _, f_test = _two_facets(rng, 600, A, C, T)

    def v(model):
        return kmeans_v_measure(model.transform(X_test), f_test).mean

    with_corpus = InstructionMap("pca-ridge", prior="zero", criterion="neighbours").fit(X, Y, X_unpaired=unpaired)
    pairs_only = InstructionMap("pca-ridge", prior="zero", criterion="neighbours").fit(X, Y)
    identity_ridge = InstructionMap("ridge", prior="identity", criterion="neighbours").fit(X, Y)
    assert v(with_corpus) > 0.95
    assert v(with_corpus) > v(pairs_only) + 0.05
    assert v(with_corpus) > v(identity_ridge) + 0.05
    assert with_corpus.method_ == "pca-ridge" and with_corpus.size_ in (4, 8, 16)
    with pytest.raises(ValueError, match="X_unpaired has shape"):
        InstructionMap("pca-ridge").fit(X, Y, X_unpaired=unpaired[:, :10])


@pytest.mark.parametrize(("key", "value"), [("rank", 0), ("n_components", -3), ("alpha", float("nan"))])
def test_bad_sizes_and_alphas_are_refused_by_name(key, value):
    X = np.random.default_rng(0).normal(size=(20, 8))
    method = {"rank": "reduced-rank", "n_components": "pca-ridge", "alpha": "ridge"}[key]
    with pytest.raises(ValueError, match=f"{key}={value} is invalid; it must be"):
        InstructionMap(method, **{key: value}).fit(X, X)


def _gemma(aspect):
    """EmbeddingGemma-300m embeddings of the demo corpus shipped in data/teacher (see its manifest)."""
    return np.load(TEACHER / "base.npy"), np.load(TEACHER / f"{aspect}.npy")


def test_auto_carries_a_real_teachers_strong_location_effect():
    """On EmbeddingGemma's location instruction, 58 pairs: auto keeps >= 90 % of the teacher's
    V-measure where the old default (identity ridge, alpha by cosine) kept far less."""
    demo = load_demo()
    base, teacher = _gemma("location")
    labels = demo.labels["location"]
    train, test = train_test_indices(demo, train_size=0.2, seed=42)
    v_teacher = kmeans_v_measure(teacher[test], labels[test]).mean

    def retention(model):
        model.fit(base[train], teacher[train], X_unpaired=base)
        return kmeans_v_measure(model.transform(base[test]), labels[test]).mean / v_teacher

    auto = InstructionMap()
    assert retention(auto) > 0.9
    old_default = InstructionMap("ridge", prior="identity", criterion="cosine")
    assert retention(auto) > retention(old_default) + 0.1
    assert auto.prior_ == "scaled" and {r["method"] for r in auto.cv_results_} == {"pca-ridge"}
    chosen = max(auto.cv_results_, key=lambda r: r["profile"])
    assert (chosen["method"], chosen["size"]) == (auto.method_, auto.size_)


def test_auto_is_a_stand_in_for_the_teachers_vectors():
    """EmbeddingGemma location, 58 pairs: the default map's vectors sit among the teacher's like its
    own (closer than the base by cosine and the teacher's neighbours, mixing fairly in a half-mapped
    index), where the zero-prior pca-ridge of the last default crowded them out."""
    demo = load_demo()
    base, teacher = _gemma("location")
    train, test = train_test_indices(demo, train_size=0.2, seed=42)
    labels = demo.labels["location"][test]

    def measures(model):
        model.fit(base[train], teacher[train], X_unpaired=base)
        return stand_in(base[test], model.transform(base[test]), teacher[test], labels)

    auto = measures(InstructionMap())
    assert auto.cosine_mapped >= 0.95 > auto.cosine_base
    assert auto.recall10_mapped > auto.recall10_base + 0.04
    assert 0.4 <= auto.mixed_share <= 0.6
    assert auto.ndcg10_mixed >= 0.97 * auto.ndcg10_teacher
    last = measures(InstructionMap("pca-ridge", prior="zero", criterion="neighbours"))
    assert last.mixed_share < 0.25 and last.recall10_mapped < last.recall10_base


def test_auto_keeps_the_teachers_clusters_from_32_diverse_pairs():
    """32 teacher passes, chosen label-free (k-center over base embeddings): auto keeps >= 85 % of
    EmbeddingGemma's location V-measure on average over 3 splits (one 5-fold CV chose 0.70 there)."""
    demo = load_demo()
    base, teacher = _gemma("location")
    labels = demo.labels["location"]
    one = replace(demo, labels={"location": labels})
    kept = []
    for seed in (42, 43, 44):
        train, test = select_train_rows(one, base, train_size=32, selection="kcenter", seed=seed)
        model = InstructionMap(random_state=seed).fit(base[train], teacher[train], X_unpaired=base)
        v_teacher = kmeans_v_measure(teacher[test], labels[test]).mean
        kept.append(kmeans_v_measure(model.transform(base[test]), labels[test]).mean / v_teacher)
    assert np.mean(kept) >= 0.85, kept


def test_cv_repeats_average_more_fold_splits_when_pairs_are_few():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 6))
    Y = X @ rng.normal(size=(6, 6)) + 0.3 * rng.normal(size=(32, 6))
    candidates = [Candidate("ridge", "zero", a) for a in (1e-2, 1.0)]
    assert cv_repeats(32) == 5 and cv_repeats(100) == 2 and cv_repeats(432) == 1
    averaged = cross_validate(X, Y, candidates, seed=7, repeats=3)
    singles = [cross_validate(X, Y, candidates, seed=7 + r, repeats=1) for r in range(3)]
    for i, score in enumerate(averaged):
        assert score.neighbours == pytest.approx(np.mean([s[i].neighbours for s in singles]))
        assert score.cosine == pytest.approx(np.mean([s[i].cosine for s in singles]))
    assert len({s[0].neighbours for s in singles}) > 1  # the fold seeds differ, so the scores do


def test_pca_basis_spans_the_same_directions_as_an_svd_of_the_centred_rows():
    base, _ = _gemma("location")
    basis = pca_basis(base, 48)
    _, _, Vt = np.linalg.svd(base - base.mean(axis=0), full_matrices=False)
    cosines = np.linalg.svd(basis.components[:16] @ Vt[:16].T, compute_uv=False)
    assert basis.components.shape == (48, base.shape[1])
    assert cosines.min() > 0.999  # the same 16-dimensional subspace
    assert np.allclose(basis.components @ basis.components.T, np.eye(48), atol=1e-6)


def test_cv_scores_are_the_same_in_the_compressed_output_space():
    """Zero-prior CV runs on outputs rotated into the pairs' span (d -> n columns); an identity-prior
    candidate in the list turns that off, and the zero-prior scores must not move."""
    base, teacher = _gemma("location")
    rows = np.random.default_rng(0).choice(len(base), 58, replace=False)
    zero = [Candidate("ridge", "zero", a, None, False) for a in (1e-2, 1e-1, 1.0)]
    zero += [Candidate("pca-ridge", "zero", 0.1, k, False) for k in (8, 16)]
    basis = pca_basis(base, 16)
    compressed = cross_validate(base[rows], teacher[rows], zero, basis=basis)
    full = cross_validate(base[rows], teacher[rows], [*zero, Candidate("ridge", "identity", 1.0, None, False)],
                          basis=basis)
    for a, b in zip(compressed, full[: len(zero)], strict=True):
        assert a.candidate == b.candidate
        assert a.neighbours == pytest.approx(b.neighbours, abs=1e-9)
        assert a.cosine == pytest.approx(b.cosine, abs=1e-5)


def test_factored_cv_scores_equal_the_scores_of_materialised_predictions():
    """Without the neighbour score, CV scores profile and cosine from each ridge problem's factors;
    they must be the numbers the materialised held-out predictions give, for every prior."""
    base, teacher = _gemma("location")
    rows = np.random.default_rng(1).choice(len(base), 80, replace=False)
    basis = pca_basis(base, 32)
    candidates = [Candidate("pca-ridge", prior, a, k) for prior in ("scaled", "zero", "identity")
                  for a in (1e-2, 1.0) for k in (4, 32)] + [Candidate("ridge", "scaled", 0.1)]
    factored = cross_validate(base[rows], teacher[rows], candidates, basis=basis, with_neighbours=False)
    materialised = cross_validate(base[rows], teacher[rows], candidates, basis=basis, with_neighbours=True)
    for a, b in zip(factored, materialised, strict=True):
        assert np.isnan(a.neighbours) and np.isfinite(b.neighbours)
        assert a.profile == pytest.approx(b.profile, abs=1e-5)
        assert a.cosine == pytest.approx(b.cosine, abs=1e-5)
    assert np.ptp([s.profile for s in factored]) > 0.01  # the candidates really differ


def test_auto_keeps_the_base_clusters_when_pairs_are_too_few_to_replace_them():
    """8 teacher pairs: auto's scaled prior keeps each vector's own detail, so it keeps more of
    EmbeddingGemma's location V-measure than a zero-prior map, which spans only 8 teacher rows."""
    demo = load_demo()
    base, teacher = _gemma("location")
    labels = demo.labels["location"]
    one = replace(demo, labels={"location": labels})
    auto, zero = [], []
    for seed in (42, 43, 44):
        train, test = select_train_rows(one, base, train_size=8, selection="random", seed=seed)
        v_teacher = kmeans_v_measure(teacher[test], labels[test], n_seeds=5).mean
        model = InstructionMap(random_state=seed).fit(base[train], teacher[train], X_unpaired=base)
        assert (model.method_, model.prior_) == ("pca-ridge", "scaled")
        auto.append(kmeans_v_measure(model.transform(base[test]), labels[test], n_seeds=5).mean / v_teacher)
        forced = InstructionMap(prior="zero", random_state=seed).fit(base[train], teacher[train], X_unpaired=base)
        zero.append(kmeans_v_measure(forced.transform(base[test]), labels[test], n_seeds=5).mean / v_teacher)
    assert np.mean(auto) > np.mean(zero) + 0.1, (auto, zero)


@pytest.mark.parametrize("prior", ["scaled", "zero", "identity"])
@pytest.mark.parametrize("method", ["pca-ridge", "ridge", "reduced-rank"])
def test_block_moments_give_the_map_the_in_memory_factoring_gives(method, prior):
    """With more pairs than features the final solve reads the rows only through block-summed moments;
    the map must be the one the in-memory SVD of the centred features gives, blocks of any size."""
    from instructlin.core.closed_form import solve
    from instructlin.core.moments import pair_moments
    from instructlin.core.solvers import RidgeProblem, affine_from_features, alpha_scale

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 24)) + 2.0  # an offset mean, as embeddings have
    Y = X @ (np.eye(24) + 0.3 * rng.normal(size=(24, 24))) + 0.1 * rng.normal(size=(300, 24)) - 1.0
    basis = pca_basis(X, 16)
    size = 8 if method != "ridge" else None
    W, b, alpha = solve(method, X.astype(np.float32), Y.astype(np.float32), prior=prior, alpha=0.1,
                        size=size, basis=basis)
    components = basis.components[:8] if method == "pca-ridge" else None
    F = basis.project(X, 8) if method == "pca-ridge" else X
    problem = RidgeProblem.build(F, X, Y, Prior(prior), components)
    assert alpha == pytest.approx(0.1 * alpha_scale(F), rel=1e-6)
    B = problem.coefficients(alpha, size if method == "reduced-rank" else None)
    W_ref, b_ref = affine_from_features(problem, B, 24, basis if method == "pca-ridge" else None, size)
    np.testing.assert_allclose(W, W_ref, atol=1e-5)
    np.testing.assert_allclose(b, b_ref, atol=1e-5)
    one, many = pair_moments(X, Y, directions=components, center=basis.mean), pair_moments(
        X, Y, directions=components, center=basis.mean, block=7)
    np.testing.assert_allclose(one.FF, many.FF, atol=1e-10 * np.abs(one.FF).max())
    np.testing.assert_allclose(one.FY, many.FY, atol=1e-10 * np.abs(one.FY).max())
    assert one.xy == pytest.approx(many.xy) and one.xx == pytest.approx(many.xx)
