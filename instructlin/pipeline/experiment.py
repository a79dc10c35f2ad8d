"""One experiment end to end: the composition of the stages that the CLI, the benchmarks and the app share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from instructlin.core.choices import MapMethod
from instructlin.core.devices import DEVICE_CHOICES
from instructlin.core.params import check_experiment_numbers
from instructlin.pipeline.sampling import Selection
from instructlin.pipeline.specs import (
    DataSpec,
    EmbeddingSpec,
    EncoderSpec,
    EvaluationSpec,
    MapSpec,
    PackSpec,
    SplitSpec,
    TimingSpec,
)
from instructlin.pipeline.stages import (
    DEFAULT_INSTRUCTIONS,
    Embeddings,
    InstructionResult,
    Split,
    StageProgress,
    embed,
    encoder_metadata,
    evaluate,
    fit_map,
    load_data,
    open_encoder,
    open_pack,
    resolve_instructions,
    split_rows,
    time_pack_steps,
    time_steps,
)
from instructlin.sources.datasets import TextDataset
from instructlin.sources.encoders import check_template
from instructlin.sources.protocols import TextEncoder

__all__ = ["DEFAULT_INSTRUCTIONS", "ExperimentConfig", "ExperimentResult", "InstructionResult", "StageProgress",
           "experiment_result", "run_experiment"]

_CHOICES = {"method": MapMethod.values(), "selection": Selection.values(),
            "device": DEVICE_CHOICES}


@dataclass(frozen=True)
class ExperimentConfig:
    """Every choice of one run (what the CLI's flags say); ``*_spec()`` gives each stage its share."""

    data: str = "demo"
    text_column: str = "text"
    label_columns: tuple[str, ...] | None = None
    #: (aspect, instruction) pairs; none means the default instruction of each label column,
    #: and an empty aspect means the first label column.
    instructions: tuple[tuple[str, str], ...] = ()
    encoder: str = "auto"
    instruction_template: str | None = None
    train_size: float | int = 0.2  # a fraction of the rows, or a count of texts
    selection: str = "random"  # random | kcenter | kmeans (label-free, over base embeddings)
    seed: int = 42
    method: str = "auto"
    map_params: tuple[tuple[str, Any], ...] = ()
    device: str = "auto"
    max_seq_length: int | None = None
    batch_size: int = 32
    cache_dir: str | None = None
    n_per_class: int | None = None
    drop_empty: bool = False
    n_kmeans_seeds: int = 10
    n_splits: int = 1  # seeds seed, seed+1, ...: mean and sd of retention, gap closed, cosine
    measure_timing: bool = True
    timing_repeats: int = 3
    timing_max_texts: int = 256
    n_instructions: int = 10
    pack: str | None = None  # a pack folder (manifest.json + .npy): embeddings are read from it, no encoder runs

    def __post_init__(self) -> None:
        check_experiment_numbers(self)
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"ExperimentConfig: {name}={value!r} is invalid; choose one of {', '.join(allowed)}.")
        if self.instruction_template is not None:
            check_template(self.instruction_template)

    def data_spec(self) -> DataSpec:
        return DataSpec(self.data, self.text_column, self.label_columns, self.drop_empty, self.n_per_class,
                        self.seed if self.n_per_class else None, self.cache_dir)

    def encoder_spec(self) -> EncoderSpec:
        return EncoderSpec(self.encoder, self.device, self.max_seq_length, self.instruction_template)

    def embedding_spec(self) -> EmbeddingSpec:
        source = PackSpec(self.pack) if self.pack else self.encoder_spec()
        return EmbeddingSpec(self.data_spec(), source, self.instructions, self.batch_size)

    def split_spec(self) -> SplitSpec:
        base = None if self.selection == Selection.RANDOM.value else self.embedding_spec()
        return SplitSpec(self.data_spec(), self.train_size, self.selection, self.seed, base)

    def map_spec(self, aspect: str) -> MapSpec:
        return MapSpec(self.embedding_spec(), self.split_spec(), aspect, self.method, self.map_params,
                       self.device, self.seed)

    def evaluation_spec(self, aspect: str) -> EvaluationSpec:
        return EvaluationSpec(self.map_spec(aspect), self.n_kmeans_seeds, self.n_splits)

    def timing_spec(self, aspect: str) -> TimingSpec:
        return TimingSpec(self.map_spec(aspect), self.timing_repeats, self.timing_max_texts)


@dataclass(frozen=True)
class ExperimentResult:
    """All arrays and numbers of a run; ``to_dict`` is the CLI's JSON."""

    config: ExperimentConfig
    encoder: str
    device: str
    dim: int
    dataset: TextDataset
    train_idx: np.ndarray
    test_idx: np.ndarray
    base: np.ndarray  # all rows
    instructions: list[InstructionResult]

    @property
    def primary(self) -> InstructionResult:
        return self.instructions[0]

    def instruction(self, aspect: str) -> InstructionResult:
        """The result of the instruction for ``aspect``."""
        return next(r for r in self.instructions if r.aspect == aspect)

    def cross_instruction_matrix(self) -> dict[str, dict[str, float]]:
        """V-measure (mean) of each instruction's mapped test embeddings against each labelling."""
        return {
            r.aspect: {label: s.mapped.mean for label, s in r.scores.items()}
            for r in self.instructions
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (see :func:`instructlin.pipeline.report.experiment_record`)."""
        from instructlin.pipeline.report import experiment_record

        return experiment_record(self)


def experiment_result(
    config: ExperimentConfig, *, encoder: TextEncoder, dataset: TextDataset, embeddings: Embeddings, split: Split,
    results: Sequence[InstructionResult],
) -> ExperimentResult:
    """The stages' results gathered into one record (the CLI and the app both build it here)."""
    return ExperimentResult(config, encoder.describe(), str(encoder.device), int(encoder.dim), dataset,
                            split.train, split.test, embeddings.base, list(results))


def run_experiment(
    config: ExperimentConfig,
    *,
    encoder: TextEncoder | None = None,
    dataset: TextDataset | None = None,
    progress: StageProgress | None = None,
    map_callback: Callable | None = None,
) -> ExperimentResult:
    """data -> encoder -> embeddings -> split -> per instruction: map -> evaluation (-> timing)."""
    dataset = dataset if dataset is not None else load_data(spec=config.data_spec())
    resolve_instructions(config.instructions, dataset)  # bad aspects fail before the model loads
    pack = open_pack(spec=PackSpec(config.pack)) if config.pack else None
    encoder = pack or encoder or open_encoder(spec=config.encoder_spec())  # a pack describes its teacher
    embeddings = embed(spec=config.embedding_spec(), encoder=encoder, dataset=dataset, progress=progress)
    split = split_rows(spec=config.split_spec(), dataset=dataset, base=embeddings.base)
    results = []
    steps_each = 3 if config.measure_timing else 2
    total, stage = steps_each * len(embeddings.pairs), "fit, score" + (", time" if config.measure_timing else "")

    def step_done(done: int) -> None:  # one bar that moves after every step and closes at the end
        if progress:
            progress(stage, done, total)

    step_done(0)
    for i, (aspect, _) in enumerate(embeddings.pairs):
        fitted = fit_map(spec=config.map_spec(aspect), embeddings=embeddings, split=split,
                         metadata=encoder_metadata(encoder), callback=map_callback)
        step_done(steps_each * i + 1)
        result = evaluate(spec=config.evaluation_spec(aspect), dataset=dataset, embeddings=embeddings,
                          split=split, fitted=fitted)
        step_done(steps_each * i + 2)
        if config.measure_timing:
            if pack is not None:  # the teacher's recorded encode time, the fit as it ran, the map clocked
                timed = time_pack_steps(spec=config.timing_spec(aspect), pack=pack, embeddings=embeddings,
                                        split=split, fitted=fitted)
            else:
                timed = time_steps(spec=config.timing_spec(aspect), encoder=encoder, dataset=dataset,
                                   embeddings=embeddings, split=split)
            result = replace(result, timings=timed.steps)
            step_done(steps_each * i + 3)
        results.append(result)
    return experiment_result(config, encoder=encoder, dataset=dataset, embeddings=embeddings, split=split,
                             results=results)
