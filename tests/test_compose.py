"""The compositions of the stages: evaluate scores one fitted map and fits nothing; repeated splits,
learning curves and run_experiment are the stages called in a loop, and give the stages' own numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.pipeline import compose, curves, stages
from instructlin.pipeline.experiment import ExperimentConfig, run_experiment
from instructlin.pipeline.report import mean_sd
from instructlin.pipeline.specs import RepeatSpec

PLANTED = ExperimentConfig(data="planted", instructions=(("topic", "topic"), ("place", "place")),
                           train_size=0.3, measure_timing=False, n_kmeans_seeds=3, method="ridge")


@pytest.fixture
def fits(monkeypatch) -> list[int]:
    """Counts every ``InstructionMap.fit`` while a test runs (the fit itself still runs)."""
    calls: list[int] = []
    real_fit = InstructionMap.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(1)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(InstructionMap, "fit", counting_fit)
    return calls


@pytest.fixture
def planted(facet_encoder, facet_dataset):
    embeddings = stages.embed(spec=PLANTED.embedding_spec(), encoder=facet_encoder, dataset=facet_dataset)
    return facet_dataset, embeddings


def test_evaluate_scores_the_fitted_map_it_is_given_and_fits_nothing(planted, fits):
    dataset, embeddings = planted
    split = stages.split_rows(spec=PLANTED.split_spec(), dataset=dataset)
    fitted = stages.fit_map(spec=PLANTED.map_spec("place"), embeddings=embeddings, split=split)
    assert len(fits) == 1
    result = stages.evaluate(spec=PLANTED.evaluation_spec("place"), dataset=dataset, embeddings=embeddings,
                             split=split, fitted=fitted)
    assert len(fits) == 1  # scoring, even with several splits configured elsewhere, fits no map
    assert result.map is fitted.model and result.splits == {}
    np.testing.assert_array_equal(result.mapped_test, fitted.mapped_test)
    assert result.fitted.model is fitted.model and result.fitted.fit_s == fitted.fit_s


def test_over_splits_equals_the_stages_called_by_hand(planted, fits):
    dataset, embeddings = planted
    spec = replace(PLANTED, n_splits=3).repeat_spec("place")
    found = compose.over_splits(spec=spec, dataset=dataset, embeddings=embeddings)
    assert len(fits) == 3 and found["seeds"] == [42, 43, 44] and found["n"] == 3
    by_hand = []
    for seed in (42, 43, 44):
        config = replace(PLANTED, seed=seed)
        split = stages.split_rows(spec=config.split_spec(), dataset=dataset)
        fitted = stages.fit_map(spec=config.map_spec("place"), embeddings=embeddings, split=split)
        by_hand.append(stages.evaluate(spec=config.evaluation_spec("place"), dataset=dataset,
                                       embeddings=embeddings, split=split, fitted=fitted))
    own = [r.scores["place"] for r in by_hand]
    assert found["v_mapped"] == mean_sd([s.mapped.mean for s in own])
    assert found["retention"] == mean_sd([s.retention for s in own])
    assert found["cosine"] == mean_sd([r.cosine_mapped["mean"] for r in by_hand])
    assert found["recall10_mapped"] == mean_sd([r.stand_in.recall10_mapped for r in by_hand])
    assert found["maps"] == [r.map.describe() for r in by_hand]


def test_the_first_split_is_reused_not_fitted_again(planted, fits):
    dataset, embeddings = planted
    spec = RepeatSpec(PLANTED.evaluation_spec("topic"), 3)
    first = compose.fit_and_evaluate(spec=spec.evaluation, dataset=dataset, embeddings=embeddings)
    fits.clear()
    reused = compose.over_splits(spec=spec, dataset=dataset, embeddings=embeddings, first=first)
    assert len(fits) == 2
    assert reused == compose.over_splits(spec=spec, dataset=dataset, embeddings=embeddings)  # the same numbers
    assert len(fits) == 5


def test_run_experiment_reports_the_composition_s_splits(facet_encoder, facet_dataset, planted):
    config = replace(PLANTED, n_splits=3)
    whole = run_experiment(config, encoder=facet_encoder, dataset=facet_dataset)
    _, embeddings = planted
    for aspect in ("topic", "place"):
        assert whole.instruction(aspect).splits == compose.over_splits(
            spec=config.repeat_spec(aspect), dataset=facet_dataset, embeddings=embeddings)


def test_a_learning_curve_point_is_the_repeated_stages_at_that_size(planted, fits):
    dataset, embeddings = planted
    spec = PLANTED.evaluation_spec("place")
    rows = curves.learning_curve(spec=spec, dataset=dataset, embeddings=embeddings, sizes=(16,),
                                 selections=("random", "kcenter"), n_splits=2)
    assert len(fits) == 4 and [r["selection"] for r in rows] == ["random", "kcenter"]
    one_label = replace(dataset, labels={"place": dataset.labels["place"]})
    kept, cosines, maps = [], [], []
    for seed in (42, 43):
        config = replace(PLANTED, seed=seed, train_size=16, selection="kcenter")
        split = stages.split_rows(spec=config.split_spec(), dataset=one_label, base=embeddings.base)
        assert len(split.train) == 16
        result = compose.fit_and_evaluate(spec=config.evaluation_spec("place"), dataset=one_label,
                                          embeddings=embeddings, split=split)
        kept.append(result.scores["place"].retention)
        cosines.append(result.cosine_mapped["mean"])
        maps.append(result.map.describe())
    assert rows[1]["n_train"] == 16 and rows[1]["retention"] == mean_sd(kept)["mean"]
    assert rows[1]["cosine"] == mean_sd(cosines)["mean"] and rows[1]["maps"] == maps
    assert rows[0]["cosine"] != rows[1]["cosine"]  # random and k-center chose other rows
