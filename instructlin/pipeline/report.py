"""How results read: retention and gap closed as text, over-tightening, mean and sd over splits, costs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from instructlin.core.metrics import MIN_MEANINGFUL_GAP, MIN_MEANINGFUL_V
from instructlin.timing import Timing

if TYPE_CHECKING:
    from instructlin.core.metrics import AspectScores

#: What a ratio shows where it means nothing (see ``metrics.retention`` and ``metrics.gap_closed``).
NA_NO_CLUSTERS = "n/a (V ≈ 0)"
NA_NO_GAP = f"n/a (gap < {MIN_MEANINGFUL_GAP:g})"


#: Retention above this is the map's vectors clustering tighter than the teacher's, not a better map.
OVER_TIGHT_RETENTION = 1.05


def over_tightening(retention: float | None) -> bool:
    """True where retention is above ``OVER_TIGHT_RETENTION``: the copy clusters more tightly than the
    original (its vectors crowd together), which reads as a flaw of the stand-in, never a win."""
    return retention is not None and retention > OVER_TIGHT_RETENTION


def retention_text(scores: AspectScores) -> str:
    """Retention as a percentage, or why it is n/a: the teacher's V-measure is about 0 (nothing to keep)."""
    return NA_NO_CLUSTERS if scores.retention is None else f"{scores.retention:.1%}"


def over_tightening_note(scores: AspectScores) -> str | None:
    """One sentence where retention is above 105 %, else None: a copy that clusters more tightly than
    the original has crowded its vectors, it has not beaten the teacher."""
    if not over_tightening(scores.retention):
        return None
    return (f"Retention {scores.retention:.1%} is over-tightening: the mapped vectors cluster more tightly than "
            "the teacher's (they sit nearer their cluster centres), which is a flaw of a stand-in, not a better map.")


def _clusters_to_keep(scores: AspectScores) -> bool:
    """Whether the teacher has clusters for the map to keep (else retention and gap closed mean nothing)."""
    return scores.retention is not None and max(scores.base.mean, scores.instructed.mean) >= MIN_MEANINGFUL_V


def gap_closed_shown(scores: AspectScores) -> float | None:
    """Gap closed where it means something: ``None`` where the teacher has no clusters (a gap toward
    nothing means nothing) or there is no base-to-teacher gap to close."""
    return scores.gap_closed if _clusters_to_keep(scores) else None


def gap_closed_text(scores: AspectScores) -> str:
    """Gap closed as a percentage, or why it is n/a (see :func:`gap_closed_shown`)."""
    if not _clusters_to_keep(scores):
        return NA_NO_CLUSTERS
    return NA_NO_GAP if scores.gap_closed is None else f"{scores.gap_closed:.1%}"


def spread_text(summary: dict[str, Any], *, percent: bool = False, n_splits: int | None = None,
                plus_minus: str = "±") -> str:
    """``mean ± sd`` of a measure over splits (see :func:`mean_sd`), "n/a" where no split defines it, and
    how many counted where some split did not; ``plus_minus="+-"`` for plain-ASCII tables."""
    if summary.get("mean") is None:
        return "n/a"
    mean, sd = summary["mean"], summary["sd"]
    text = f"{mean:.1%} {plus_minus} {sd:.1%}" if percent else f"{mean:.3f} {plus_minus} {sd:.3f}"
    n = summary.get("n")
    return text if n_splits is None or n == n_splits else f"{text} ({n} of {n_splits} splits)"


def teacher_verdict(scores: AspectScores) -> str:
    """Whether the teacher followed the instruction for this labelling (see :func:`verdict_of`)."""
    return verdict_of(scores.base.mean, scores.instructed.mean)


def verdict_of(v_base: float, v_teacher: float) -> str:
    """``follows``, ``ignores`` or ``goes against``: the teacher's V-measure up, within, or down by
    ``MIN_MEANINGFUL_GAP`` from the base's."""
    delta = v_teacher - v_base
    return "follows" if delta >= MIN_MEANINGFUL_GAP else ("goes against" if delta <= -MIN_MEANINGFUL_GAP else "ignores")


def mean_sd(values: list[float | None]) -> dict[str, float | None]:
    """Mean and sd of the defined values (``None`` where none is defined), and how many counted."""
    kept = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not kept:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(np.mean(kept)), "sd": float(np.std(kept)), "n": len(kept)}


def amortised_inputs(timings: dict[str, Timing], *, n_train: int, n_test: int) -> dict[str, float]:
    """Per-corpus costs from the test-part timings (encoding time scales with the row count)."""
    per_text_base = timings["encode_base"].median_s / n_test
    per_text_instr = timings["encode_instructed"].median_s / n_test
    return {
        "encode_base_all_s": per_text_base * (n_train + n_test),
        "encode_instructed_all_s": per_text_instr * (n_train + n_test),
        "encode_instructed_train_s": per_text_instr * n_train,
        "fit_s": timings["fit"].median_s,
        "map_s": timings["map"].median_s,
    }


def marginal_cost(timings: dict[str, Timing], *, n_train: int, n_test: int) -> dict[str, float]:
    """One new instruction on precomputed base embeddings: teacher pass over the train texts + fit
    + map of the rest, against re-encoding every text with the instruction."""
    parts = amortised_inputs(timings, n_train=n_train, n_test=n_test)
    instructlin_s = parts["encode_instructed_train_s"] + parts["fit_s"] + parts["map_s"]
    return {"reencode_s": parts["encode_instructed_all_s"], "instructlin_s": instructlin_s,
            "speedup": parts["encode_instructed_all_s"] / max(instructlin_s, 1e-12)}
