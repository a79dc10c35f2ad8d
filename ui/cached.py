"""Every ``st.cache_*`` of the app, keyed by the frozen ExperimentConfig and small values only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from instructlin import curves
from instructlin.data import TextDataset
from instructlin.encoders import Encoder, load_encoder
from instructlin.experiment import (
    ExperimentConfig,
    ExperimentResult,
    InstructionResult,
    StageProgress,
    encode_corpus,
    load_experiment_data,
    measure_timings,
    resolve_instructions,
    run_experiment,
)
from instructlin.metrics import kmeans_labels
from instructlin.projection import shared_projection
from instructlin.report import amortised_inputs
from instructlin.sampling import Selection, select_train_rows
from instructlin.timing import pipeline_costs


@st.cache_resource(show_spinner="Loading the encoder (once per process)...", max_entries=4)
def encoder(name: str, device: str) -> Encoder:
    """One model per (encoder name, device), shared by every session of this process."""
    return load_encoder(name, device=device)


def encoder_for(config: ExperimentConfig) -> Encoder:
    return encoder(config.encoder, config.device)


def _data_key(config: ExperimentConfig) -> ExperimentConfig:
    """Only the fields that decide the rows, so changing e.g. the method keeps the dataset cached."""
    return ExperimentConfig(data=config.data, text_column=config.text_column,
                            label_columns=config.label_columns, n_per_class=config.n_per_class,
                            seed=config.seed, drop_empty=config.drop_empty, cache_dir=config.cache_dir)


@st.cache_data(show_spinner="Loading the dataset...", max_entries=16)
def _dataset(key: ExperimentConfig) -> TextDataset:
    return load_experiment_data(key)


def dataset(config: ExperimentConfig) -> TextDataset:
    return _dataset(_data_key(config))


def pairs(config: ExperimentConfig) -> list[tuple[str, str]]:
    return resolve_instructions(config, dataset(config))


def encode(config: ExperimentConfig, *, progress: StageProgress | None = None) -> None:
    """Encode base and instructed embeddings into the disk cache (not st-cached: it reports progress)."""
    encode_corpus(config, encoder_for(config), dataset(config), pairs(config), progress=progress)


def _embedding_key(config: ExperimentConfig) -> ExperimentConfig:
    return replace(_data_key(config), encoder=config.encoder, device=config.device,
                   instructions=config.instructions, batch_size=config.batch_size)


@st.cache_data(show_spinner="Reading embeddings...", max_entries=8)
def _embeddings(key: ExperimentConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return encode_corpus(key, encoder_for(key), dataset(key), pairs(key))


def embeddings(config: ExperimentConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Base and instructed embeddings of every row (read from the disk cache after :func:`encode`)."""
    return _embeddings(_embedding_key(config))


def split(config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    base = None if config.selection == Selection.RANDOM.value else embeddings(config)[0]
    return select_train_rows(dataset(config), base, train_size=config.train_size,
                             selection=config.selection, seed=config.seed)


def _untimed(config: ExperimentConfig) -> ExperimentConfig:
    return replace(config, measure_timing=False, timing_max_texts=256, timing_repeats=3)


@st.cache_data(show_spinner="Fitting the maps and scoring (k-means over seeds)...", max_entries=16)
def _experiment(config: ExperimentConfig) -> ExperimentResult:
    return run_experiment(config, encoder=encoder_for(config), dataset=dataset(config))


def experiment(config: ExperimentConfig) -> ExperimentResult:
    """The whole run without timings (maps, mapped test rows, V-measures), as the CLI computes it."""
    return _experiment(_untimed(config))


def instruction_result(config: ExperimentConfig, aspect: str) -> InstructionResult:
    return next(r for r in experiment(config).instructions if r.aspect == aspect)


@st.cache_data(show_spinner=False, max_entries=8)
def timings(config: ExperimentConfig) -> dict[str, Any]:
    """Timings of the first instruction on the current device (median of repeats, sampled texts)."""
    data, enc = dataset(config), encoder_for(config)
    train, test = split(config)
    base, instructed = embeddings(config)
    aspect, instruction = pairs(config)[0]
    found = measure_timings(config, enc, data, train, test, base, instructed[aspect], instruction)
    return {"timings": found, "n_train": len(train), "n_test": len(test), "device": enc.device,
            "aspect": aspect}


def summary(config: ExperimentConfig) -> dict[str, Any]:
    """The CLI's JSON record (``ExperimentResult.to_dict``) with the timings attached."""
    result = experiment(config)  # a fresh copy: st.cache_data unpickles per call
    result.primary.timings = timings(config)["timings"]
    return result.to_dict()


def break_even(config: ExperimentConfig, n_max: int) -> dict[str, list[float]]:
    """Cost of N full re-encodes against one base encode plus N maps, for N = 1..n_max."""
    found = timings(config)
    inputs = amortised_inputs(found["timings"], n_train=found["n_train"], n_test=found["n_test"])
    ns = list(range(1, n_max + 1))
    costs = [pipeline_costs(n, **inputs) for n in ns]
    return {"n": ns, "reencode": [c[0] for c in costs], "instructlin": [c[1] for c in costs]}


@st.cache_data(show_spinner="Fitting one UMAP on the instructed test embeddings...", max_entries=16)
def projection(config: ExperimentConfig, aspect: str) -> dict[str, np.ndarray]:
    """Base, mapped and instructed test rows in ONE 2-D basis (fitted on instructed, others placed)."""
    result = experiment(config)
    chosen = instruction_result(config, aspect)
    test = result.test_idx
    instructed, base, mapped = shared_projection(
        chosen.instructed[test], [result.base[test], chosen.mapped_test], seed=config.seed)
    return {"base": base, "mapped": mapped, "instructed": instructed}


def test_vectors(config: ExperimentConfig, aspect: str) -> dict[str, np.ndarray]:
    """The three test-part embedding sets of one instruction."""
    result, chosen = experiment(config), instruction_result(config, aspect)
    test = result.test_idx
    return {"base": result.base[test], "mapped": chosen.mapped_test,
            "instructed": chosen.instructed[test]}


@st.cache_data(show_spinner=False, max_entries=64)
def clusters(config: ExperimentConfig, aspect: str, space: str, k: int) -> np.ndarray:
    """k-means cluster ids (the library's settings, seed of the config) of one embedding set."""
    return kmeans_labels(test_vectors(config, aspect)[space], k, seed=config.seed)


@st.cache_data(show_spinner="Fitting maps at each train size, 3 seeded splits each...", max_entries=8)
def learning_curve(config: ExperimentConfig, aspect: str) -> list[dict[str, Any]]:
    """Retention against the number of teacher-encoded texts, random and k-center selection."""
    base, instructed = embeddings(config)
    method = "auto" if config.method == "sgd" else config.method  # SGD per point would take minutes
    return curves.learning_curve(dataset(config), base, instructed[aspect], aspect=aspect, seed=config.seed,
                                 n_kmeans_seeds=5, map_params={**dict(config.map_params), "method": method})
