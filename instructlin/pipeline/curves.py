"""How few teacher passes suffice: retention against the number of teacher-encoded texts.

Works on precomputed embeddings (base and instructed for every row): for each train size and
selection strategy, over several seeded splits, fit the default map on the chosen rows and score
k-means V-measure of the mapped rest against the labels.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import kmeans_v_measure, retention, row_cosine
from instructlin.pipeline.report import mean_sd
from instructlin.pipeline.sampling import Selection, resolve_train_size, select_train_rows
from instructlin.sources.datasets import TextDataset

DEFAULT_SIZES: tuple[float | int, ...] = (16, 32, 64, 128, 0.2)


def learning_curve(
    dataset: TextDataset,
    base: np.ndarray,
    instructed: np.ndarray,
    *,
    aspect: str,
    sizes: tuple[float | int, ...] = DEFAULT_SIZES,
    selections: tuple[str, ...] = (Selection.RANDOM.value, Selection.KCENTER.value),
    n_splits: int = 3,
    seed: int = 42,
    n_kmeans_seeds: int = 5,
    map_params: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per (size, selection): n_train, retention mean and sd over splits, cosine, maps."""
    labels = dataset.labels[aspect]
    one_label = replace(dataset, labels={aspect: labels})
    rows = []
    for size in sizes:
        if isinstance(size, int) and size > len(dataset) - 2:
            continue  # a count larger than the corpus allows: skipped, not an error
        n_train = resolve_train_size(size, len(dataset))
        for selection in selections:
            kept, cosines, maps = [], [], []
            for split in range(n_splits):
                train, test = select_train_rows(one_label, base, train_size=n_train,
                                                selection=selection, seed=seed + split)
                model = InstructionMap(random_state=seed + split, **(map_params or {}))
                model.fit(base[train], instructed[train], X_unpaired=base)
                mapped = model.transform(base[test])
                v_mapped = kmeans_v_measure(mapped, labels[test], n_seeds=n_kmeans_seeds).mean
                v_teacher = kmeans_v_measure(instructed[test], labels[test], n_seeds=n_kmeans_seeds).mean
                kept.append(retention(v_mapped, v_teacher))
                cosines.append(float(row_cosine(mapped, instructed[test]).mean()))
                maps.append(model.describe())
            r, c = mean_sd(kept), mean_sd(cosines)
            rows.append({"size": size, "n_train": n_train, "selection": selection,
                         "retention": r["mean"], "retention_sd": r["sd"], "cosine": c["mean"],
                         "n_splits": n_splits, "maps": maps})
    return rows
