"""The pipeline's stages: specs hold exactly what decides a result, run_experiment is their composition."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from instructlin.cli.commands import build_parser
from instructlin.cli.options import DEVICE_CHOICES, FILE_TYPES, METHOD_CHOICES, METHOD_LABELS
from instructlin.core.choices import MapMethod
from instructlin.core.devices import Device
from instructlin.pipeline import stages
from instructlin.pipeline.experiment import ExperimentConfig, run_experiment
from instructlin.sources import hub
from instructlin.sources.datasets import SUPPORTED_SUFFIXES
from instructlin.sources.protocols import TextEncoder

ROOT = Path(__file__).resolve().parents[1]
PLANTED = ExperimentConfig(data="planted", instructions=(("topic", "topic"), ("place", "place")),
                           train_size=0.3, measure_timing=False, n_kmeans_seeds=3)


def test_each_spec_changes_with_its_own_choices_only():
    config = ExperimentConfig(n_per_class=None)
    assert config.data_spec() == replace(config, seed=7, method="ridge", max_seq_length=64).data_spec()
    assert config.data_spec() != replace(config, n_per_class=4).data_spec()
    assert replace(config, n_per_class=4).data_spec() != replace(config, n_per_class=4, seed=7).data_spec()
    # what changes the vectors changes the embeddings' key; what only changes the map does not
    for field, value in (("max_seq_length", 64), ("instruction_template", "Q: {instruction}"), ("device", "cpu"),
                         ("encoder", "minilm"), ("batch_size", 8), ("instructions", (("topic", "x"),))):
        assert config.embedding_spec() != replace(config, **{field: value}).embedding_spec(), field
    for field, value in (("method", "ridge"), ("train_size", 0.5), ("seed", 7), ("n_kmeans_seeds", 3),
                         ("timing_repeats", 1)):
        assert config.embedding_spec() == replace(config, **{field: value}).embedding_spec(), field
    assert config.split_spec() == replace(config, method="ridge").split_spec()
    assert config.split_spec().base is None and replace(config, selection="kcenter").split_spec().base is not None
    assert config.map_spec("topic") != replace(config, method="ridge").map_spec("topic")
    assert config.map_spec("topic") == replace(config, n_kmeans_seeds=3, timing_repeats=1).map_spec("topic")
    assert config.evaluation_spec("topic") == replace(config, timing_repeats=1).evaluation_spec("topic")
    assert len({config.timing_spec("topic"), config.evaluation_spec("topic"), config.map_spec("topic")}) == 3


def test_a_bad_choice_is_refused_where_it_enters():
    with pytest.raises(ValueError, match="method='lasso' is invalid; choose one of auto, ridge"):
        ExperimentConfig(method="lasso")
    with pytest.raises(ValueError, match="device='tpu' is invalid; choose one of auto, cpu, cuda, mps"):
        ExperimentConfig(device="tpu")


def test_run_experiment_is_the_composition_of_the_stages(facet_encoder, facet_dataset):
    whole = run_experiment(PLANTED, encoder=facet_encoder, dataset=facet_dataset)
    embeddings = stages.embed(spec=PLANTED.embedding_spec(), encoder=facet_encoder, dataset=facet_dataset)
    split = stages.split_rows(spec=PLANTED.split_spec(), dataset=facet_dataset, base=embeddings.base)
    assert np.array_equal(split.train, whole.train_idx) and np.array_equal(embeddings.base, whole.base)
    for aspect, _ in embeddings.pairs:
        fitted = stages.fit_map(spec=PLANTED.map_spec(aspect), embeddings=embeddings, split=split)
        result = stages.evaluate(spec=PLANTED.evaluation_spec(aspect), dataset=facet_dataset,
                                 embeddings=embeddings, split=split, fitted=fitted)
        same = whole.instruction(aspect)
        np.testing.assert_array_equal(result.mapped_test, same.mapped_test)
        assert {k: s.to_dict() for k, s in result.scores.items()} == {k: s.to_dict() for k, s in same.scores.items()}
        assert result.cosine_mapped == same.cosine_mapped and result.knn_accuracy == same.knn_accuracy


def test_embeddings_are_read_only_and_come_back_from_the_disk_cache(facet_encoder, facet_dataset):
    spec = PLANTED.embedding_spec()
    assert not any(stages.stored_sets(spec=spec, encoder=facet_encoder, dataset=facet_dataset).values())
    first = stages.embed(spec=spec, encoder=facet_encoder, dataset=facet_dataset)
    assert stages.stored_sets(spec=spec, encoder=facet_encoder, dataset=facet_dataset) == {
        "base": True, "topic": True, "place": True}
    with pytest.raises(ValueError, match="read-only"):
        first.base[0, 0] = 1.0
    again = stages.embed(spec=spec, encoder=facet_encoder, dataset=facet_dataset)
    np.testing.assert_array_equal(first.instructed["place"], again.instructed["place"])


def test_splits_over_seeds_and_timings_are_stages_too(facet_encoder, facet_dataset):
    config = replace(PLANTED, n_splits=3, measure_timing=True, timing_repeats=1)
    result = run_experiment(config, encoder=facet_encoder, dataset=facet_dataset)
    assert result.primary.splits["seeds"] == [42, 43, 44]
    assert set(result.primary.timings) == {"encode_base", "encode_instructed", "fit", "map"}
    timed = stages.time_steps(spec=config.timing_spec("topic"), encoder=facet_encoder, dataset=facet_dataset,
                              embeddings=stages.embed(spec=config.embedding_spec(), encoder=facet_encoder,
                                                      dataset=facet_dataset),
                              split=stages.Split(result.train_idx, result.test_idx))
    assert timed.n_train == len(result.train_idx) and timed.device == "cpu"


def test_the_planted_encoder_meets_the_encoder_protocol(facet_encoder):
    from instructlin.sources.encoders import Encoder

    assert isinstance(facet_encoder, TextEncoder)
    for name in ("model_id", "revision", "template", "dim", "device", "dtype", "max_seq_length", "encode",
                 "describe", "instruction_tuned"):
        assert hasattr(Encoder, name) or name in Encoder.__init__.__code__.co_varnames, name


def test_cli_and_app_choices_come_from_the_library():
    evaluate = next(a for a in build_parser()._subparsers._group_actions[0].choices["evaluate"]._actions
                    if a.dest == "method")
    assert tuple(evaluate.choices) == METHOD_CHOICES == MapMethod.values()
    assert set(METHOD_LABELS) == set(METHOD_CHOICES)  # the app's widget labels every method, in its own order
    assert DEVICE_CHOICES == tuple(d.value for d in Device)
    assert FILE_TYPES == tuple(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "app_pages").glob("*.py"))
    assert '"csv", "parquet"' not in pages and '"auto", "cpu", "cuda"' not in pages  # no copies in the app


def test_the_hub_is_probed_only_after_the_local_cache_misses(monkeypatch):
    calls = []

    def download(**kwargs):
        calls.append(kwargs)
        if kwargs.get("local_files_only"):
            raise FileNotFoundError("not cached")
        return "downloaded"

    monkeypatch.setattr(hub, "hub_reachable", lambda timeout: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(LookupError, match="offline"):
        hub.local_or_download(download, unavailable=lambda: LookupError("offline"))
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout: True)
    assert hub.local_or_download(download, unavailable=lambda: LookupError("offline")) == "downloaded"
    assert calls == [{"local_files_only": True}, {"local_files_only": True}, {}]
    assert hub.local_or_download(lambda **kw: "local", unavailable=lambda: LookupError("x")) == "local"


def test_the_architecture_doc_names_every_stage():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "```mermaid" in doc
    stage_functions = {  # every public function of stages.py that takes a keyword-only spec is a stage
        name for name, f in vars(stages).items()
        if inspect.isfunction(f) and f.__module__ == stages.__name__ and not name.startswith("_")
        and inspect.signature(f).parameters.get("spec", None) is not None
        and inspect.signature(f).parameters["spec"].kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert {"load_data", "open_encoder", "embed", "split_rows", "fit_map", "evaluate", "time_steps"} <= stage_functions
    for name in stage_functions:
        assert re.search(rf"\b{name}\b", doc), f"docs/architecture.md does not name the stage {name}"
    cached = (ROOT / "ui" / "cached.py").read_text(encoding="utf-8")
    wrapped = dict(re.findall(r"@st\.cache_\w+\(.*\)\ndef (\w+)\(spec: (\w+)", cached))
    per_stage = {"dataset", "encoder", "embeddings", "split", "fitted_map", "evaluation", "timings"}
    assert per_stage <= set(wrapped) and all(spec.endswith("Spec") for spec in wrapped.values()), wrapped
    for wrapper in per_stage:
        assert f"`{wrapper}`" in doc, wrapper
    assert "_key(" not in cached  # no hand-written cache keys
