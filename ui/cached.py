"""Every ``st.cache_*`` of the app: one wrapper per pipeline stage, keyed by that stage's spec.

Results holding arrays are cached as resources (shared, never pickled; the stages return read-only
arrays), small ones as data. The composition below is the CLI's ``run_experiment``, stage by stage.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from instructlin.core.metrics import kmeans_labels
from instructlin.io.budgets import check_table_size
from instructlin.pipeline import compose, curves, stages
from instructlin.pipeline.config import ExperimentConfig
from instructlin.pipeline.instruction_matrix import InstructionMatrix
from instructlin.pipeline.instruction_matrix import instruction_matrix as measure_instructions
from instructlin.pipeline.projection import aligned_projection
from instructlin.pipeline.projection_store import STORE_COMMAND, projection_inputs, stored_projection
from instructlin.pipeline.record import ExperimentResult, experiment_result
from instructlin.pipeline.report import amortised_inputs
from instructlin.pipeline.specs import (
    DataSpec,
    EmbeddingSpec,
    EncoderSpec,
    EvaluationSpec,
    MapSpec,
    PackSpec,
    RepeatSpec,
    SplitSpec,
    TimingSpec,
)
from instructlin.pipeline.stages import Embeddings, FittedMap, InstructionResult, Split, StageProgress, Timings
from instructlin.sources.datasets import TextDataset
from instructlin.sources.packs import Pack
from instructlin.sources.protocols import TextEncoder
from instructlin.timing import pipeline_costs
from instructlin.vectors.runs import VectorRun, VectorSpec, run_vectors


@st.cache_resource(show_spinner="Loading the dataset...", max_entries=4)
def dataset(spec: DataSpec) -> TextDataset:
    """A table within the app's budget (rows, decoded bytes: checked before decoding), loaded once."""
    if spec.data != "demo" and not spec.data.startswith("nyt:"):
        check_table_size(spec.data)
    return stages.load_data(spec=spec)


@st.cache_resource(show_spinner="Loading the encoder (once per process)...", max_entries=4)
def encoder(spec: EncoderSpec) -> TextEncoder:
    """One model per spec, shared by every session of this process."""
    return stages.open_encoder(spec=spec)


@st.cache_resource(show_spinner="Reading the embedding pack...", max_entries=4)
def pack(spec: PackSpec) -> Pack:
    """A pack's manifest, read and checked once per process."""
    return stages.open_pack(spec=spec)


@st.cache_resource(show_spinner="Measuring what the teacher does with each instruction...", max_entries=2)
def instruction_matrix(spec: PackSpec, control: str | None) -> InstructionMatrix:
    """V-measure of the pack's base and every instruction against each demo labelling (all texts)."""
    found, data = pack(spec), dataset(DataSpec())
    return measure_instructions(found.load(None), {i: found.load(i) for i in found.instructions()}, data.labels,
                                control=control if control in found.instructions() else None)


def source(spec: EncoderSpec | PackSpec) -> TextEncoder | Pack:
    """What made the embeddings: the encoder, or the pack that stands in for one."""
    return pack(spec) if isinstance(spec, PackSpec) else encoder(spec)


def _encoder_for(spec: EmbeddingSpec) -> TextEncoder | None:
    return None if isinstance(spec.encoder, PackSpec) else encoder(spec.encoder)


def stored(spec: EmbeddingSpec) -> dict[str, bool]:
    """Which embedding sets (base, then each aspect) the disk cache holds (not st-cached: the disk changes)."""
    return stages.stored_sets(spec=spec, encoder=_encoder_for(spec), dataset=dataset(spec.data))


def encode(spec: EmbeddingSpec, *, progress: StageProgress | None = None) -> None:
    """Encode what the disk cache lacks, reporting progress (not st-cached: the bar must move)."""
    if not all(stored(spec).values()):
        stages.embed(spec=spec, encoder=_encoder_for(spec), dataset=dataset(spec.data), progress=progress)


@st.cache_resource(show_spinner="Reading embeddings...", max_entries=8)
def embeddings(spec: EmbeddingSpec) -> Embeddings:
    """Base and instructed embeddings of every row (read from the disk cache after :func:`encode`, or a pack)."""
    return stages.embed(spec=spec, encoder=_encoder_for(spec), dataset=dataset(spec.data))


@st.cache_resource(show_spinner=False, max_entries=16)
def split(spec: SplitSpec) -> Split:
    base = embeddings(spec.base).base if spec.base is not None else None
    return stages.split_rows(spec=spec, dataset=dataset(spec.data), base=base)


@st.cache_resource(show_spinner="Fitting the map...", max_entries=16)
def fitted_map(spec: MapSpec) -> FittedMap:
    metadata = stages.encoder_metadata(source(spec.embeddings.encoder))
    return stages.fit_map(spec=spec, embeddings=embeddings(spec.embeddings), split=split(spec.split),
                          metadata=metadata)


@st.cache_resource(show_spinner="Scoring base, mapped and instructed (k-means over seeds)...", max_entries=16)
def evaluation(spec: EvaluationSpec) -> InstructionResult:
    m = spec.map
    return stages.evaluate(spec=spec, dataset=dataset(m.embeddings.data), embeddings=embeddings(m.embeddings),
                           split=split(m.split), fitted=fitted_map(m))


@st.cache_data(show_spinner="Fitting and scoring a map on each seeded split...", max_entries=16)
def over_splits(spec: RepeatSpec) -> dict[str, Any]:
    """Mean and sd over seeded splits; the first split is the cached :func:`evaluation` of ``spec.evaluation``."""
    m = spec.evaluation.map
    return compose.over_splits(spec=spec, dataset=dataset(m.embeddings.data), embeddings=embeddings(m.embeddings),
                               first=evaluation(spec.evaluation))


@st.cache_data(show_spinner=False, max_entries=8)
def timings(spec: TimingSpec) -> Timings:
    """Encode, re-encode, fit and map of one instruction, clocked on this process's device. On a pack nothing
    is encoded: the teacher's encode time is the pack's record, the fit the one shown (as it ran)."""
    m = spec.map
    if isinstance(m.embeddings.encoder, PackSpec):
        return stages.time_pack_steps(spec=spec, pack=pack(m.embeddings.encoder), embeddings=embeddings(m.embeddings),
                                      split=split(m.split), fitted=fitted_map(m))
    return stages.time_steps(spec=spec, encoder=encoder(m.embeddings.encoder), dataset=dataset(m.embeddings.data),
                             embeddings=embeddings(m.embeddings), split=split(m.split))


def pairs(config: ExperimentConfig) -> tuple[tuple[str, str], ...]:
    """The (aspect, instruction) pairs of a config, without encoding anything."""
    return stages.resolve_instructions(config.instructions, dataset(config.data_spec()))


def experiment(config: ExperimentConfig) -> ExperimentResult:
    """The whole run from the cached stages: what ``run_experiment`` (the CLI) computes for ``config``."""
    emb_spec = config.embedding_spec()
    emb = embeddings(emb_spec)
    results = []
    for aspect, _ in emb.pairs:
        result = evaluation(config.evaluation_spec(aspect))
        if config.n_splits > 1:
            result = replace(result, splits=over_splits(config.repeat_spec(aspect)))
        if config.measure_timing:
            result = replace(result, timings=timings(config.timing_spec(aspect)).steps)
        results.append(result)
    return experiment_result(config, encoder=source(emb_spec.encoder), dataset=dataset(config.data_spec()),
                             embeddings=emb, split=split(config.split_spec()), results=results)


def summary(config: ExperimentConfig) -> dict[str, Any]:
    """The CLI's JSON record, with the first instruction's timings (a new record: nothing cached is changed)."""
    result = experiment(config)
    timed = replace(result.primary, timings=timings(config.timing_spec(result.primary.aspect)).steps)
    return replace(result, instructions=[timed, *result.instructions[1:]]).to_dict()


def break_even(spec: TimingSpec, n_max: int) -> dict[str, list[float]]:
    """Cost of N full re-encodes against one base encode plus N maps, for N = 1..n_max."""
    found = timings(spec)
    inputs = amortised_inputs(found.steps, n_train=found.n_train, n_test=found.n_test)
    ns = list(range(1, n_max + 1))
    costs = [pipeline_costs(n, **inputs) for n in ns]
    return {"n": ns, "reencode": [c[0] for c in costs], "instructlin": [c[1] for c in costs]}


def held_out_vectors(spec: EvaluationSpec) -> dict[str, np.ndarray]:
    """The three test-part embedding sets of one instruction."""
    chosen, test = evaluation(spec), split(spec.map.split).test
    return {"base": embeddings(spec.map.embeddings).base[test], "mapped": chosen.mapped_test,
            "instructed": chosen.instructed[test]}


@st.cache_data(show_spinner="Projecting base, mapped and instructed with UMAP, one plane each...", max_entries=16)
def projection(spec: EvaluationSpec) -> tuple[dict[str, np.ndarray], str]:
    """Base, mapped and instructed test rows, each in its own UMAP plane turned onto the instructed one, and
    where they come from: the pack's stored planes when made from exactly this map and split, else live."""
    views = held_out_vectors(spec)
    source = spec.map.embeddings.encoder
    if isinstance(source, PackSpec):
        found, chosen = pack(source), evaluation(spec)
        key = projection_inputs(found, chosen.instruction, test_rows=split(spec.map.split).test,
                             map_description=chosen.map.describe(), seed=spec.map.seed)
        stored = stored_projection(found, key, chosen.mapped_test)
        if stored is not None and set(stored) == set(views):
            return stored, (f"precomputed by `{STORE_COMMAND}` from this map on this split (checked against the "
                            "pack's checksums and the map's output)")
    return aligned_projection(views, reference="instructed", seed=spec.map.seed), "computed here"


@st.cache_data(show_spinner=False, max_entries=64)
def clusters(spec: EvaluationSpec, space: str, k: int) -> np.ndarray:
    """k-means cluster ids (the library's settings, the map's seed) of one embedding set."""
    return kmeans_labels(held_out_vectors(spec)[space], k, seed=spec.map.seed)


#: k-means seeds per V-measure of the learning curve: the library's default. With 5, the pack's 32-text points
#: moved by 0.04-0.07 against 10; 10 take the whole curve from 8.2 s to 10.5 s on 2 idle cores.
CURVE_KMEANS_SEEDS = EvaluationSpec.n_kmeans_seeds


@st.cache_data(show_spinner="Fitting maps at each train size, 3 seeded splits each...", max_entries=8)
def learning_curve(spec: MapSpec) -> list[dict[str, Any]]:
    """Retention against the number of teacher-encoded texts, random and k-center selection."""
    method = "auto" if spec.method == "sgd" else spec.method  # SGD per point would take minutes
    return curves.learning_curve(spec=EvaluationSpec(replace(spec, method=method), n_kmeans_seeds=CURVE_KMEANS_SEEDS),
                                 dataset=dataset(spec.embeddings.data), embeddings=embeddings(spec.embeddings))


@st.cache_resource(show_spinner="Fitting the map on your vectors (no encoder runs)...", max_entries=4)
def vector_run(spec: VectorSpec) -> VectorRun:
    """Read, align, fit and score uploaded vectors (the "Your vectors" page), keyed by stored files + choices."""
    return run_vectors(spec)
