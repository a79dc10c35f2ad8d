"""The held-out rows one map is explored on: corpus ids, texts, labels and the three embedding sets
(base, mapped, instructed), with how far each row moved. Pages and exports name rows by corpus id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from instructlin.pipeline import explore
from instructlin.sources.listings import shorten
from instructlin.sources.text_dataset import TextDataset

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class HeldOutPoints:
    """The rows a map is explored on (the test part), named by corpus id, with their three embedding sets."""

    ids: list[str]
    texts: list[str]
    labels: dict[str, np.ndarray]
    views: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[str]) -> list[int]:
        """Positions of ``ids`` among the rows shown, in the given order; ids not shown are dropped."""
        where = {v: i for i, v in enumerate(self.ids)}
        return [where[v] for v in dict.fromkeys(ids) if v in where]

    def describe_text(self, row: int, *, chars: int = 300) -> str:
        """The row's text, cut at ``chars`` with an ellipsis."""
        text = self.texts[row]
        return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + "…"

    def describe(self, row: int, *, chars: int = 70) -> str:
        """``id · labels · first words``: one line naming a row for pickers."""
        text = self.texts[row]
        return " · ".join([self.ids[row], *(str(v[row]) for v in self.labels.values()), shorten(text, chars)])

    def n_classes(self, aspect: str) -> int:
        """How many classes the label column ``aspect`` has among these rows (the k of k-means)."""
        return len(np.unique(self.labels[aspect]))

    def table(self, rows: Sequence[int], moves: Mapping[str, np.ndarray],
              coords: Mapping[str, np.ndarray] | None = None, *, max_chars: int | None = 200) -> pd.DataFrame:
        """:func:`explore.point_table` of ``rows``: id, labels, movement (and 2-D coordinates), text."""
        rows = np.asarray(rows, dtype=int)
        return explore.point_table(
            ids=[self.ids[i] for i in rows], texts=[self.texts[i] for i in rows],
            labels={k: v[rows] for k, v in self.labels.items()}, moves={k: v[rows] for k, v in moves.items()},
            coords={k: np.asarray(v)[rows] for k, v in (coords or {}).items()}, max_chars=max_chars)


def held_out_points(dataset: TextDataset, test: np.ndarray, views: Mapping[str, np.ndarray]) -> HeldOutPoints:
    """The test rows of ``dataset`` with their embedding sets (``views``: each already the test rows)."""
    ids = dataset.row_ids()
    return HeldOutPoints(ids=[ids[i] for i in test], texts=[dataset.texts[i] for i in test],
                         labels={a: np.asarray(v)[test] for a, v in dataset.labels.items()}, views=views)


@dataclass(frozen=True)
class Exploration:
    """Everything the explorer shows of one map, computed once: points, movement, planes, the full table."""

    points: HeldOutPoints
    moves: dict[str, np.ndarray]
    coords: dict[str, np.ndarray]
    every: pd.DataFrame  # every row with its 2-D coordinates and full text (the coordinates export)


def exploration(points: HeldOutPoints, coords: Mapping[str, np.ndarray]) -> Exploration:
    """Movement of every row and the full point table, for points already placed in 2-D ``coords``."""
    moves = explore.movement(points.views)
    every = points.table(range(len(points)), moves, coords, max_chars=None)
    return Exploration(points, moves, dict(coords), every)
