"""Every choice of one run (what the CLI's flags say), and the spec of each stage derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    RepeatSpec,
    SplitSpec,
    TimingSpec,
)
from instructlin.sources.encoders import check_template

__all__ = ["ExperimentConfig"]

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
        return EvaluationSpec(self.map_spec(aspect), self.n_kmeans_seeds)

    def repeat_spec(self, aspect: str) -> RepeatSpec:
        return RepeatSpec(self.evaluation_spec(aspect), self.n_splits)

    def timing_spec(self, aspect: str) -> TimingSpec:
        return TimingSpec(self.map_spec(aspect), self.timing_repeats, self.timing_max_texts)
