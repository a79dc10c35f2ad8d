"""The orchestration function end to end: planted facets, then the CLI on real data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap
from instructlin.pipeline.experiment import ExperimentConfig, run_experiment
from instructlin.pipeline.sampling import select_train_rows
from instructlin.sources.datasets import TextDataset

from .conftest import FacetEncoder, shared_csv

PLANTED = ExperimentConfig(data="planted", instructions=(("topic", "topic"), ("place", "place")),
                           train_size=0.3, measure_timing=True, timing_repeats=1, n_kmeans_seeds=5)


class SlowFacetEncoder(FacetEncoder):
    """The planted encoder at a known cost per text, so re-encoding is measurably slower than a map."""

    SECONDS_PER_TEXT = 0.001

    def encode(self, texts, **kwargs):
        time.sleep(self.SECONDS_PER_TEXT * len(texts))
        return super().encode(texts, **kwargs)


def _as_json_types(value):
    """What a JSON round trip of ``value`` should give back: tuples as lists, floats as floats."""
    if isinstance(value, dict):
        return {k: _as_json_types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json_types(v) for v in value]
    return value


def test_planted_facets_the_map_follows_the_instruction(facet_dataset):
    result = run_experiment(PLANTED, encoder=SlowFacetEncoder(), dataset=facet_dataset)
    topic, place = result.instructions
    # base vectors follow the topic; the place instruction makes them follow the place
    assert place.scores["place"].base.mean < 0.5 < place.scores["place"].instructed.mean
    assert place.scores["place"].retention > 0.9 and place.scores["place"].gap_closed > 0.9
    assert place.cosine_mapped["mean"] > place.cosine_base["mean"]
    matrix = result.cross_instruction_matrix()
    assert matrix["place"]["place"] > matrix["place"]["topic"]
    assert matrix["topic"]["topic"] > matrix["topic"]["place"]
    record = result.to_dict()
    n_train, n_test = record["n_train"], record["n_test"]
    assert n_train + n_test == len(facet_dataset) == 160 and n_train == 48  # 30 % of 160

    # the record carries the run's own numbers, not just its keys
    own = topic.scores["topic"]
    assert record["aspect"] == "topic" and record["instruction"] == "topic"
    assert record["v_measure"] == {k: getattr(own, k).to_dict() for k in ("base", "mapped", "instructed")}
    assert record["retention"] == own.retention and record["gap_closed"] == own.gap_closed
    assert record["cosine"] == {"base": topic.cosine_base["mean"], "mapped": topic.cosine_mapped["mean"]}
    assert record["per_instruction"][1]["v_measure"]["place"] == place.scores["place"].to_dict()
    assert record["cross_instruction_v_measure"] == matrix
    assert record["map"]["describe"] == topic.map.describe()

    # timings: re-encoding costs at least the encoder's planted 1 ms per text (scaled to the test part)
    t = record["timings_s"]
    assert set(t) == {"encode_base", "encode_instructed", "fit", "map"}
    floor = SlowFacetEncoder.SECONDS_PER_TEXT * n_test
    assert t["encode_base"] >= floor and t["encode_instructed"] >= floor
    assert 0 < t["map"] < t["encode_instructed"] / 10  # a matrix product, not an encode
    # the speed-ups are the ratios of those timings, and mapping beats re-encoding by far
    assert record["speedup_map_vs_reencode"] == pytest.approx(t["encode_instructed"] / t["map"])
    assert record["speedup_map_vs_reencode"] > 10
    marginal = record["marginal_speedup"]
    per_text = t["encode_instructed"] / n_test
    assert marginal["reencode_s"] == pytest.approx(per_text * (n_train + n_test))
    assert marginal["instructlin_s"] == pytest.approx(per_text * n_train + t["fit"] + t["map"])
    assert marginal["speedup"] == pytest.approx(marginal["reencode_s"] / marginal["instructlin_s"])
    amortised = record["speedup_amortised"]
    n = amortised["n_instructions"]
    assert n == PLANTED.n_instructions
    assert amortised["reencode_s"] == pytest.approx(n * per_text * (n_train + n_test))
    assert amortised["instructlin_s"] == pytest.approx(
        t["encode_base"] / n_test * (n_train + n_test) + n * (per_text * n_train + t["fit"] + t["map"]))
    assert amortised["speedup"] == pytest.approx(amortised["reencode_s"] / amortised["instructlin_s"])

    # strict JSON (no NaN, no numpy scalars) that reads back as the same record
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text) == _as_json_types(record)


def test_both_instructions_share_one_split(facet_encoder, facet_dataset):
    config = replace(PLANTED, measure_timing=False, n_kmeans_seeds=1)
    result = run_experiment(config, encoder=facet_encoder, dataset=facet_dataset)
    train, test = result.train_idx, result.test_idx
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(facet_dataset)
    expected, _ = select_train_rows(facet_dataset, result.base, train_size=config.train_size,
                                    selection=config.selection, seed=config.seed)
    np.testing.assert_array_equal(train, expected)
    # each instruction's map is exactly the one fitted on THAT split's rows and applied to its test rows
    for r in result.instructions:
        refit = InstructionMap(config.method, device=config.device, random_state=config.seed).fit(
            result.base[train], r.instructed[train], X_unpaired=result.base)
        assert r.map.describe() == refit.describe()
        np.testing.assert_allclose(r.map.coef_, refit.coef_, atol=1e-6)
        np.testing.assert_allclose(r.mapped_test, refit.transform(result.base[test]), atol=1e-5)


def test_unknown_aspect_and_missing_instruction_are_explained(facet_encoder, facet_dataset):
    bad = ExperimentConfig(instructions=(("colour", "x"),), measure_timing=False)
    with pytest.raises(ValueError, match=r"'colour' is not a label column; have \['topic', 'place'\]"):
        run_experiment(bad, encoder=facet_encoder, dataset=facet_dataset)
    only_place = TextDataset("p", facet_dataset.texts, {"place": facet_dataset.labels["place"]})
    with pytest.raises(ValueError, match=r"No instruction given and no default for label columns \['place'\]"):
        run_experiment(ExperimentConfig(measure_timing=False), encoder=facet_encoder, dataset=only_place)


@pytest.fixture
def reuters_sample(tmp_path):
    frame = pd.read_csv(shared_csv("reuters21578/topic.csv"))
    small = frame.groupby("cluster").head(8).copy()
    small["text"] = small["text"].str.slice(0, 160)  # a real news opening: a third of the tokens
    path = tmp_path / "reuters_small.csv"
    small.to_csv(path, index=False)
    return path


def test_cli_evaluate_embed_fit_map_on_real_text(tmp_path, reuters_sample, capsys):
    out = tmp_path / "r.json"
    args = ["--data", str(reuters_sample), "--label-column", "cluster", "--encoder", "minilm",
            "--instruction", "Identify the topic of the given news article", "--quiet"]
    # timing is checked on the planted encoder above; here it would re-encode the texts twice more
    assert main(["evaluate", *args, "--kmeans-seeds", "3", "--no-timing", "--output", str(out)]) == 0
    record = json.loads(out.read_text())
    for key in ("encoder", "device", "dim", "n_train", "n_test", "v_measure", "retention", "gap_closed", "cosine"):
        assert key in record
    assert record["dim"] == 384 and record["n_train"] == 16 and record["n_test"] == 64
    assert set(record["v_measure"]["mapped"]) == {"mean", "sd"}
    assert record["retention"] > 0.8  # MiniLM barely moves: the default map must keep its clusters
    assert record["map"]["method"] in ("ridge", "pca-ridge") and record["map"]["cv_results"]
    for key in ("knn_accuracy", "ndcg10"):
        assert set(record[key]) == {"base", "mapped", "instructed"}
        assert all(0.0 <= v <= 1.0 for v in record[key].values())

    base = tmp_path / "base.npy"
    assert main(["embed", *args[:6], "--quiet", "--output", str(base)]) == 0
    instructed = tmp_path / "instr.npy"
    assert main(["embed", *args, "--output", str(instructed)]) == 0
    assert np.load(base).shape == (80, 384)
    mapdir = tmp_path / "map"
    assert main(["fit", "--base", str(base), "--instructed", str(instructed), "--output", str(mapdir)]) == 0
    mapped = tmp_path / "mapped.npy"
    assert main(["map", "--map", str(mapdir), "--input", str(base), "--output", str(mapped),
                 "--chunk-size", "7", "--quiet"]) == 0
    expected = InstructionMap.load(mapdir).transform(np.load(base))
    np.testing.assert_allclose(np.load(mapped), expected, atol=1e-6)


def test_cli_map_streams_parquet_and_refuses_wrong_dimension(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 8)).astype(np.float32)
    model = InstructionMap().fit(X, X @ rng.normal(size=(8, 8)))
    model.save(tmp_path / "map")
    table = pa.table({"id": list(range(50)), "embedding": list(X)})
    pq.write_table(table, tmp_path / "in.parquet")
    assert main(["map", "--map", str(tmp_path / "map"), "--input", str(tmp_path / "in.parquet"),
                 "--output", str(tmp_path / "out.parquet"), "--chunk-size", "16", "--quiet"]) == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("id").to_pylist() == list(range(50))
    np.testing.assert_allclose(np.array(out.column("embedding").to_pylist()), model.transform(X), atol=1e-5)

    np.save(tmp_path / "wide.npy", rng.normal(size=(5, 16)).astype(np.float32))
    code = main(["map", "--map", str(tmp_path / "map"), "--input", str(tmp_path / "wide.npy"),
                 "--output", str(tmp_path / "o.npy"), "--quiet"])
    assert code == 2 and "takes d=8 embeddings but the data has d=16" in capsys.readouterr().err


def test_cli_bad_data_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "one.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "cluster": ["x", "x", "x"]}).to_csv(bad, index=False)
    run = subprocess.run([sys.executable, "-m", "instructlin", "evaluate", "--data", str(bad),
                          "--encoder", "minilm", "--instruction", "x", "--output", str(tmp_path / "o.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "label column 'cluster' has one class only" in run.stderr
