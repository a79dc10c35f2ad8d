"""The frozen results the pipeline's stages return: embeddings, split, map, scores, timings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import AspectScores
from instructlin.pipeline.standin import StandIn
from instructlin.timing import Timing

__all__ = ["Embeddings", "FittedMap", "InstructionResult", "Split", "Timings"]


@dataclass(frozen=True)
class Embeddings:
    """Base and instructed embeddings of every row (read-only arrays), and the instructions they follow."""

    pairs: tuple[tuple[str, str], ...]  # (aspect, instruction), resolved against the label columns
    base: np.ndarray
    instructed: Mapping[str, np.ndarray]  # aspect -> (n, d)

    def instruction(self, aspect: str) -> str:
        return dict(self.pairs)[aspect]


@dataclass(frozen=True)
class Split:
    """Sorted row indices: train (given a teacher pass) and test (scored)."""

    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class FittedMap:
    """One instruction's fitted map and its mapped test rows."""

    aspect: str
    instruction: str
    model: InstructionMap
    mapped_test: np.ndarray
    fit_s: float | None = None  # wall-clock seconds of this fit, as it ran (one run, not a benchmark)


@dataclass(frozen=True)
class InstructionResult:
    """What one instruction's map achieved on the test part, scored against every labelling."""

    aspect: str
    instruction: str
    map: InstructionMap
    instructed: np.ndarray  # all rows
    mapped_test: np.ndarray
    scores: dict[str, AspectScores]
    cosine_base: dict[str, float]
    cosine_mapped: dict[str, float]
    knn_overlap_base: float
    knn_overlap_mapped: float
    knn_accuracy: dict[str, float] = field(default_factory=dict)  # base, mapped, instructed
    ndcg10: dict[str, float] = field(default_factory=dict)
    timings: dict[str, Timing] = field(default_factory=dict)
    splits: dict[str, Any] = field(default_factory=dict)
    stand_in: StandIn | None = None  # the map's vectors beside the teacher's own (instructlin.pipeline.standin)
    fit_s: float | None = None  # the scored map's fit, as it ran

    @property
    def fitted(self) -> FittedMap:
        """The map this result scored, as ``fit_map`` returned it."""
        return FittedMap(self.aspect, self.instruction, self.map, self.mapped_test, self.fit_s)


@dataclass(frozen=True)
class Timings:
    """The clocked steps of one map (median of repeats each) and what they ran on."""

    aspect: str
    device: str
    n_train: int
    n_test: int
    steps: dict[str, Timing]
