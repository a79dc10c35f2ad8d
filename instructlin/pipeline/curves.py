"""How few teacher passes suffice: retention against the number of teacher-encoded texts.

A composition of the stages: for each train size and selection strategy, the evaluation repeated over
seeded splits (:func:`instructlin.pipeline.compose.repeated_splits`), each split stratified by the
evaluated aspect's labels and scored on the rows not encoded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from instructlin.pipeline.compose import repeated_splits
from instructlin.pipeline.report import mean_sd
from instructlin.pipeline.sampling import Selection, resolve_train_size
from instructlin.pipeline.specs import EvaluationSpec, RepeatSpec
from instructlin.pipeline.stage_results import Embeddings
from instructlin.sources.datasets import TextDataset

DEFAULT_SIZES: tuple[float | int, ...] = (16, 32, 64, 128, 0.2)


def learning_curve(
    *,
    spec: EvaluationSpec,
    dataset: TextDataset,
    embeddings: Embeddings,
    sizes: tuple[float | int, ...] = DEFAULT_SIZES,
    selections: tuple[str, ...] = (Selection.RANDOM.value, Selection.KCENTER.value),
    n_splits: int = 3,
) -> list[dict[str, Any]]:
    """One row per (size, selection): n_train, retention mean and sd over splits, cosine, maps.

    ``spec`` says the map, its seed (the first split's) and the k-means seeds; its train size and
    selection are replaced by each point's."""
    aspect = spec.map.aspect
    one_label = replace(dataset, labels={aspect: dataset.labels[aspect]})  # stratify by this aspect alone
    rows = []
    for size in sizes:
        if isinstance(size, int) and size > len(dataset) - 2:
            continue  # a count larger than the corpus allows: skipped, not an error
        n_train = resolve_train_size(size, len(dataset))
        for selection in selections:
            split = replace(spec.map.split, train_size=n_train, selection=selection,
                            base=None if selection == Selection.RANDOM.value else spec.map.embeddings)
            point = replace(spec, map=replace(spec.map, split=split))
            results = repeated_splits(spec=RepeatSpec(point, n_splits), dataset=one_label, embeddings=embeddings)
            r = mean_sd([x.scores[aspect].retention for x in results])
            c = mean_sd([x.cosine_mapped["mean"] for x in results])
            rows.append({"size": size, "n_train": n_train, "selection": selection,
                         "retention": r["mean"], "retention_sd": r["sd"], "cosine": c["mean"],
                         "n_splits": n_splits, "maps": [x.map.describe() for x in results]})
    return rows
