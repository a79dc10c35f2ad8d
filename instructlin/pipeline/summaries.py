"""The numbers a page reads off a stage's result: how far instructions move embeddings, a score table,
what a new instruction costs and where mapping breaks even."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from instructlin.core.metrics import AspectScores, cosine_summary
from instructlin.pipeline.report import amortised_inputs, gap_closed_text, marginal_cost, retention_text
from instructlin.pipeline.stage_results import Embeddings, Timings
from instructlin.timing import speedup_map_only


def instruction_shift(embeddings: Embeddings) -> dict[str, float]:
    """Mean cosine of each aspect's instructed embeddings to the base ones (1.0: the instruction did nothing)."""
    return {a: cosine_summary(embeddings.base, v)["mean"] for a, v in embeddings.instructed.items()}


def score_rows(scores: Mapping[str, AspectScores]) -> list[dict[str, str]]:
    """Per labelling: retention and gap closed as shown (``n/a`` where the ratio means nothing)."""
    return [{"labelling": a, "retention": retention_text(s), "gap closed": gap_closed_text(s)}
            for a, s in scores.items()]


@dataclass(frozen=True)
class CostSummary:
    """A new instruction's cost against re-encoding, from one map's clocked (or recorded) steps."""

    seconds: dict[str, float]  # median of each step: encode_base, encode_instructed, fit, map
    instructlin_s: float  # teacher pass on the train texts + fit + map of the test texts
    reencode_s: float  # every text re-encoded with the instruction
    speedup: float
    teacher_train_s: float  # the teacher pass on the train texts alone
    map_speedup: float  # mapping the test part against re-encoding it (leaves out the teacher pass and fit)


def cost_summary(found: Timings) -> CostSummary:
    """What :class:`Timings` say a new instruction costs (``report.marginal_cost``), with its parts."""
    seconds = {step: timing.median_s for step, timing in found.steps.items()}
    cost = marginal_cost(found.steps, n_train=found.n_train, n_test=found.n_test)
    parts = amortised_inputs(found.steps, n_train=found.n_train, n_test=found.n_test)
    return CostSummary(seconds, cost["instructlin_s"], cost["reencode_s"], cost["speedup"],
                       parts["encode_instructed_train_s"],
                       speedup_map_only(seconds["encode_instructed"], seconds["map"]))


def first_break_even(n: Sequence[int], reencode: Sequence[float], mapped: Sequence[float]) -> int | None:
    """The smallest number of instructions at which one base encode + maps is cheaper (None: never)."""
    wins = [count for count, a, b in zip(n, reencode, mapped, strict=True) if b < a]
    return wins[0] if wins else None
