"""The dataset every stage reads: texts with one label array per aspect, and the error for unusable data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from instructlin.errors import DataError

__all__ = ["SUPPORTED_SUFFIXES", "TextDataset", "sample_per_class"]

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")



@dataclass(frozen=True)
class TextDataset:
    """Texts with one label array per aspect (e.g. ``topic`` and ``location``)."""

    name: str
    texts: list[str]
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    #: Each row's corpus id (the file's unique ``id`` column), or None: then :meth:`row_ids` numbers the rows.
    ids: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def row_ids(self) -> tuple[str, ...]:
        """Each row's corpus id, so tables and exports name rows the way the user's file does."""
        return self.ids if self.ids is not None else tuple(str(i) for i in range(len(self.texts)))

    @property
    def aspects(self) -> list[str]:
        """Names of the label columns, in file order."""
        return list(self.labels)

    def subset(self, indices: np.ndarray | list[int]) -> TextDataset:
        """The rows at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=int)
        return TextDataset(
            name=self.name,
            texts=[self.texts[i] for i in idx],
            labels={k: v[idx] for k, v in self.labels.items()},
            ids=tuple(self.row_ids()[i] for i in idx),
        )


def sample_per_class(
    dataset: TextDataset, n_per_class: int, *, aspect: str | None = None, seed: int = 42
) -> TextDataset:
    """At most ``n_per_class`` rows of each class of ``aspect`` (default: the first), seeded."""
    if n_per_class < 1:
        raise DataError(f"n_per_class must be at least 1, got {n_per_class}.")
    aspect = aspect or dataset.aspects[0]
    labels = dataset.labels[aspect]
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        chosen.append(rng.permutation(members)[:n_per_class])
    return dataset.subset(np.sort(np.concatenate(chosen)))
