"""One small frozen spec per pipeline stage: exactly the choices that decide its result.

A spec is also the stage's cache key (the app caches each stage on it), so a spec nests the specs of
the stages it reads from and nothing else: changing the map method keeps the embeddings cached, and
changing ``max_seq_length`` does not reuse embeddings made with another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from instructlin.core.mapping import InstructionMap


@dataclass(frozen=True)
class DataSpec:
    """Which rows: the source, its columns, and the per-class sample."""

    data: str = "demo"
    text_column: str = "text"
    label_columns: tuple[str, ...] | None = None
    drop_empty: bool = False
    n_per_class: int | None = None
    seed: int | None = None  # the sample's seed; None without n_per_class (then the rows do not depend on it)
    cache_dir: str | None = None  # where hub datasets and the embedding cache live


@dataclass(frozen=True)
class EncoderSpec:
    """Which model, on which device, reading how much of each text with which prompt template."""

    name: str = "auto"
    device: str = "auto"
    max_seq_length: int | None = None
    instruction_template: str | None = None


@dataclass(frozen=True)
class PackSpec:
    """Precomputed embeddings read from a pack folder (``manifest.json`` + ``.npy``) in place of an encoder."""

    folder: str


@dataclass(frozen=True)
class EmbeddingSpec:
    """Base and instructed embeddings of every row of ``data``, by ``encoder`` (or read from a pack)."""

    data: DataSpec
    encoder: EncoderSpec | PackSpec
    #: (aspect, instruction) pairs as configured: () means the default instruction of each label
    #: column, and an empty aspect the first label column.
    instructions: tuple[tuple[str, str], ...] = ()
    batch_size: int = 32


@dataclass(frozen=True)
class SplitSpec:
    """Which rows get a teacher pass (train) and which are scored (test)."""

    data: DataSpec
    train_size: float | int = 0.2
    selection: str = "random"
    seed: int = 42
    base: EmbeddingSpec | None = None  # label-free selections read the base embeddings; random does not


@dataclass(frozen=True)
class MapSpec:
    """One instruction's map, fitted on the split's train rows of the embeddings."""

    embeddings: EmbeddingSpec
    split: SplitSpec
    aspect: str
    method: str = "auto"
    params: tuple[tuple[str, Any], ...] = ()
    device: str = "auto"
    seed: int = 42


def build_map(spec: MapSpec, *, callback: Callable | None = None) -> InstructionMap:
    """The unfitted estimator a map spec names: the one place a ``MapSpec`` becomes an ``InstructionMap``."""
    return InstructionMap(spec.method, device=spec.device, random_state=spec.seed, callback=callback,
                          **dict(spec.params))


@dataclass(frozen=True)
class EvaluationSpec:
    """How one map's test rows are scored: k-means seeds per labelling."""

    map: MapSpec
    n_kmeans_seeds: int = 10


@dataclass(frozen=True)
class RepeatSpec:
    """One evaluation repeated over seeded splits (seeds seed, seed+1, ...): one split of a few pairs is noise."""

    evaluation: EvaluationSpec
    n_splits: int = 5


@dataclass(frozen=True)
class TimingSpec:
    """What is clocked for one map: encoding a sample of the test part, the fit, the map."""

    map: MapSpec
    repeats: int = 3
    max_texts: int = 256
