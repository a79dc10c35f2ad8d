"""Compositions of the stages: split -> fit -> score once, and over seeded splits.

The CLI (``run_experiment``), the app's cache, the learning curve, the benchmarks and the tests call
these; no stage calls them back, so ``evaluate`` never fits and N splits are visibly N fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from instructlin.pipeline.report import gap_closed_shown, mean_sd, over_tightening
from instructlin.pipeline.specs import EvaluationSpec, RepeatSpec
from instructlin.pipeline.stage_results import Embeddings, InstructionResult, Split
from instructlin.pipeline.stages import evaluate, fit_map, split_rows
from instructlin.sources.datasets import TextDataset

__all__ = ["SPLIT_KEYS", "STAND_IN_SPLIT_KEYS", "fit_and_evaluate", "over_splits", "repeated_splits",
           "reseeded", "split_seeds", "split_summary"]

#: The stand-in measures that repeated splits report as mean and sd.
STAND_IN_SPLIT_KEYS = ("cosine_base", "recall10_base", "recall10_mapped", "mixed_share", "ndcg10_mixed",
                       "ndcg10_teacher")
#: Every measure that repeated splits report as mean and sd.
SPLIT_KEYS = ("v_base", "v_mapped", "v_instructed", "retention", "gap_closed", "cosine", *STAND_IN_SPLIT_KEYS)


def fit_and_evaluate(
    *, spec: EvaluationSpec, dataset: TextDataset, embeddings: Embeddings, split: Split | None = None,
    metadata: Mapping[str, str] | None = None, callback: Callable | None = None,
    step_done: Callable[[str], None] | None = None,
) -> InstructionResult:
    """split -> fit -> score for one map; ``split`` (when given) is the one ``spec.map.split`` names.
    ``step_done("fit")`` and ``step_done("score")`` let a progress bar move after each stage."""
    if split is None:
        split = split_rows(spec=spec.map.split, dataset=dataset, base=embeddings.base)
    fitted = fit_map(spec=spec.map, embeddings=embeddings, split=split, metadata=metadata, callback=callback)
    if step_done:
        step_done("fit")
    result = evaluate(spec=spec, dataset=dataset, embeddings=embeddings, split=split, fitted=fitted)
    if step_done:
        step_done("score")
    return result


def reseeded(spec: EvaluationSpec, seed: int) -> EvaluationSpec:
    """The same evaluation on another seeded split: the split's, the map's and the scores' seeds move together."""
    m = spec.map
    return replace(spec, map=replace(m, seed=seed, split=replace(m.split, seed=seed)))


def split_seeds(spec: RepeatSpec) -> list[int]:
    """The seeds of the repeated splits: the evaluation's own, then the next ones."""
    return [spec.evaluation.map.seed + i for i in range(spec.n_splits)]


def repeated_splits(
    *, spec: RepeatSpec, dataset: TextDataset, embeddings: Embeddings, first: InstructionResult | None = None
) -> list[InstructionResult]:
    """One result per seed of :func:`split_seeds`: rows split as ``dataset``'s labels stratify them, scored
    against the evaluated aspect's labels alone. ``first``, the result of ``spec.evaluation`` itself, is
    reused where a seed names exactly that evaluation (the same split, map and k-means seeds)."""
    aspect = spec.evaluation.map.aspect
    one_label = replace(dataset, labels={aspect: dataset.labels[aspect]})
    results = []
    for seed in split_seeds(spec):
        once = reseeded(spec.evaluation, seed)
        if first is not None and once == spec.evaluation:
            results.append(first)
            continue
        split = split_rows(spec=once.map.split, dataset=dataset, base=embeddings.base)
        results.append(fit_and_evaluate(spec=once, dataset=one_label, embeddings=embeddings, split=split))
    return results


def split_summary(results: Sequence[InstructionResult], seeds: Sequence[int]) -> dict[str, Any]:
    """Mean and sd of each of ``SPLIT_KEYS`` over the results, how many over-tighten, and each map chosen."""
    rows = []
    for r in results:
        own, si = r.scores[r.aspect], r.stand_in.to_dict()
        rows.append({"v_base": own.base.mean, "v_mapped": own.mapped.mean, "v_instructed": own.instructed.mean,
                     "retention": own.retention, "gap_closed": gap_closed_shown(own), "cosine": r.cosine_mapped["mean"],
                     **{key: si[key] for key in STAND_IN_SPLIT_KEYS}})
    out: dict[str, Any] = {"n": len(results), "seeds": list(seeds)}
    for key in SPLIT_KEYS:
        out[key] = mean_sd([row[key] for row in rows])
    out["over_tightening"] = sum(over_tightening(row["retention"]) for row in rows)
    out["maps"] = [r.map.describe() for r in results]
    return out


def over_splits(
    *, spec: RepeatSpec, dataset: TextDataset, embeddings: Embeddings, first: InstructionResult | None = None
) -> dict[str, Any]:
    """Retention, gap closed, cosine and the stand-in measures over ``spec.n_splits`` seeded splits, as mean and
    sd (see :func:`repeated_splits` and :func:`split_summary`)."""
    results = repeated_splits(spec=spec, dataset=dataset, embeddings=embeddings, first=first)
    return split_summary(results, split_seeds(spec))
