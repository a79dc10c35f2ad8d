"""Honest numbers: retention and gap closed say why they are n/a, and the teacher's verdict, on real
EmbeddingGemma-300m embeddings of the demo corpus (the shipped pack)."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.core.metrics import aspect_scores
from instructlin.pipeline.report import NA_NO_CLUSTERS, NA_NO_GAP, gap_closed_text, retention_text, teacher_verdict
from instructlin.pipeline.stages import DEFAULT_INSTRUCTIONS
from instructlin.sources.datasets import load_demo
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack

if not (DEMO_PACK_DIR / MANIFEST).exists():
    pytest.skip(f"no embedding pack at {DEMO_PACK_DIR}", allow_module_level=True)


@pytest.fixture(scope="module")
def gemma():
    pack = read_pack(DEMO_PACK_DIR)
    return load_demo(), pack.load(None), {a: pack.load(i) for a, i in DEFAULT_INSTRUCTIONS.items()}


def test_the_na_strings():
    assert NA_NO_CLUSTERS == "n/a (V ≈ 0)" and NA_NO_GAP == "n/a (gap < 0.03)"


def test_a_real_effect_shows_percentages_and_follows(gemma):
    data, base, teacher = gemma
    labels = data.labels["location"]
    scores = aspect_scores(base, teacher["location"], teacher["location"], labels, aspect="location", n_seeds=3)
    assert teacher_verdict(scores) == "follows"
    assert retention_text(scores) == f"{scores.retention:.1%}" == "100.0%"  # mapped = teacher
    assert gap_closed_text(scores) == "100.0%"
    topic = aspect_scores(base, teacher["topic"], teacher["topic"], data.labels["topic"], aspect="topic", n_seeds=3)
    assert teacher_verdict(topic) == "goes against"  # Gemma's topic instruction clusters by topic worse


def test_no_gap_when_the_teacher_ignores_the_instruction(gemma):
    data, base, _ = gemma
    scores = aspect_scores(base, base, base, data.labels["location"], aspect="location", n_seeds=3)
    assert scores.instructed.mean > 0.2  # there are clusters, but no change to carry
    assert teacher_verdict(scores) == "ignores"
    assert gap_closed_text(scores) == NA_NO_GAP
    assert retention_text(scores) == "100.0%"


def test_no_clusters_when_the_vectors_say_nothing_of_the_labels(gemma):
    data, _, teacher = gemma
    shuffled = np.random.default_rng(0).permutation(teacher["location"])  # rows no longer match their labels
    scores = aspect_scores(shuffled, shuffled, shuffled, data.labels["location"], aspect="location", n_seeds=3)
    assert scores.instructed.mean < 0.05
    assert retention_text(scores) == NA_NO_CLUSTERS and gap_closed_text(scores) == NA_NO_CLUSTERS


def test_gap_closed_is_shown_only_where_retention_is(gemma):
    """Base vectors with clusters, a teacher without (V about 0): a gap 'closed' toward nothing is n/a, as
    retention is, never a percentage beside 'retention n/a'."""
    data, base, teacher = gemma
    shuffled = np.random.default_rng(0).permutation(teacher["location"])
    scores = aspect_scores(base, shuffled, shuffled, data.labels["location"], aspect="location", n_seeds=3)
    assert scores.base.mean > 0.2 and scores.instructed.mean < 0.05 and scores.gap_closed is not None
    assert retention_text(scores) == NA_NO_CLUSTERS and gap_closed_text(scores) == NA_NO_CLUSTERS


def test_retention_above_105_percent_is_called_over_tightening(gemma):
    """A copy pulled toward its cluster centres out-clusters the teacher: that is flagged, not praised."""
    from instructlin.pipeline.report import over_tightening, over_tightening_note

    data, _, teacher = gemma
    labels = data.labels["location"]
    Y = teacher["location"]
    centres = {c: Y[labels == c].mean(axis=0) for c in np.unique(labels)}
    tight = np.stack([0.3 * y + 0.7 * centres[c] for y, c in zip(Y, labels, strict=True)])
    scores = aspect_scores(Y, tight, Y, labels, aspect="location")
    assert scores.retention > 1.05 and over_tightening(scores.retention)
    assert "over-tightening" in over_tightening_note(scores)
    honest = aspect_scores(Y, Y, Y, labels, aspect="location")
    assert not over_tightening(honest.retention) and over_tightening_note(honest) is None


def test_spread_text_says_mean_sd_and_how_many_splits_counted():
    from instructlin.pipeline.report import mean_sd, spread_text

    assert spread_text(mean_sd([0.9, 1.1])) == "1.000 ± 0.100"
    assert spread_text(mean_sd([0.9, 1.1]), percent=True) == "100.0% ± 10.0%"
    assert spread_text(mean_sd([0.9, None, 1.1]), n_splits=3) == "1.000 ± 0.100 (2 of 3 splits)"
    assert spread_text(mean_sd([0.9, None, 1.1]), n_splits=3, plus_minus="+-") == "1.000 +- 0.100 (2 of 3 splits)"
    assert spread_text(mean_sd([None, None]), n_splits=2) == "n/a"


def test_repeated_splits_report_each_splits_v_and_count_over_tightening(gemma):
    """The spread over splits is made of the single-split runs: same V means, same over-tightening count."""
    from dataclasses import replace

    from instructlin.pipeline.experiment import ExperimentConfig, run_experiment

    config = ExperimentConfig(data="demo", pack=str(DEMO_PACK_DIR), measure_timing=False, n_kmeans_seeds=2,
                              instructions=(("location", DEFAULT_INSTRUCTIONS["location"]),))
    splits = run_experiment(replace(config, n_splits=3)).primary.splits
    singles = [run_experiment(replace(config, seed=seed)).primary.scores["location"] for seed in (42, 43, 44)]
    for key, part in (("v_base", "base"), ("v_mapped", "mapped"), ("v_instructed", "instructed")):
        assert splits[key]["mean"] == pytest.approx(np.mean([getattr(s, part).mean for s in singles]))
        assert splits[key]["sd"] == pytest.approx(np.std([getattr(s, part).mean for s in singles]))
    assert splits["over_tightening"] == sum(s.retention > 1.05 for s in singles)
    assert splits["gap_closed"]["mean"] == pytest.approx(np.mean([s.gap_closed for s in singles]))
