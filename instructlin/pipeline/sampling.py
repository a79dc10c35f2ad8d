"""Which texts get a teacher pass: the train rows, chosen at random or label-free over base embeddings.

The base embeddings of the whole corpus exist before any teacher pass, so a diverse choice over
them (k-center, k-means medoids) costs no labels and no teacher time.
"""

from __future__ import annotations

import numpy as np

from instructlin.core.choices import Choice
from instructlin.core.metrics import l2_normalize
from instructlin.errors import DataError
from instructlin.sources.datasets import TextDataset


class Selection(Choice):
    """How the train rows are chosen."""

    RANDOM = "random"  # seeded, stratified on the labels where there are any
    KCENTER = "kcenter"  # greedy farthest-point over base embeddings (cosine), seeded start
    KMEANS = "kmeans"  # the row nearest each centroid of k-means (k = n_train) over base embeddings


def resolve_train_size(train_size: float | int, n_rows: int) -> int:
    """A count from a count (``32``) or a fraction of the rows (``0.2``), checked against ``n_rows``."""
    if isinstance(train_size, (bool, np.bool_)) or not isinstance(train_size, (int, float, np.number)):
        raise DataError(f"train size must be a count or a fraction, got {train_size!r}.")
    if isinstance(train_size, (float, np.floating)):
        if not 0.0 < train_size < 1.0:
            raise DataError(f"A train fraction must be in (0, 1), got {train_size}; give a count as an integer.")
        n_train = int(round(train_size * n_rows))
    else:
        n_train = int(train_size)
    if n_train < 2 or n_rows - n_train < 2:
        raise DataError(
            f"A train size of {train_size} of {n_rows} rows leaves {n_train} to train and "
            f"{n_rows - n_train} to test; both need at least 2. Use more rows or a smaller size."
        )
    return n_train


def parse_train_size(text: str) -> float | int:
    """``--train-size`` as typed: ``32`` is a count, ``0.2`` or ``20%`` a fraction."""
    text = text.strip()
    try:
        value = float(text[:-1]) / 100.0 if text.endswith("%") else int(text) if text.isdigit() else float(text)
    except ValueError:
        raise DataError(f"--train-size {text!r} is neither a count (32) nor a fraction (0.2, 20%).") from None
    if isinstance(value, int) and value < 2 or isinstance(value, float) and not 0.0 < value < 1.0:
        raise DataError(f"--train-size {text!r} must be a count >= 2 (32) or a fraction in (0, 1) (0.2, 20%).")
    return value


def kcenter_rows(base: np.ndarray, n: int, *, seed: int = 42) -> np.ndarray:
    """Greedy k-center (farthest point first) by cosine distance, starting from a seeded row."""
    Z = l2_normalize(base)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(Z)))]
    distance = 1.0 - Z @ Z[chosen[0]]
    for _ in range(n - 1):
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, 1.0 - Z @ Z[nxt])
    return np.sort(np.asarray(chosen))


def kmeans_medoid_rows(base: np.ndarray, n: int, *, seed: int = 42) -> np.ndarray:
    """One row per k-means cluster (k = ``n``): the row nearest its centroid, over unit vectors."""
    from sklearn.cluster import KMeans

    Z = l2_normalize(base)
    km = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(Z)
    chosen: list[int] = []
    taken = np.zeros(len(Z), dtype=bool)
    for centre in km.cluster_centers_:
        order = np.argsort(-(Z @ centre))
        pick = order[~taken[order]][0]  # two centroids can share a nearest row
        taken[pick] = True
        chosen.append(int(pick))
    return np.sort(np.asarray(chosen))


def select_train_rows(
    dataset: TextDataset,
    base: np.ndarray | None = None,
    *,
    train_size: float | int = 0.2,
    selection: str = Selection.RANDOM,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test row indices; label-free selections need the base embeddings."""
    strategy = Selection(selection)
    n_train = resolve_train_size(train_size, len(dataset))
    if strategy is Selection.RANDOM:
        return train_test_indices(dataset, train_size=n_train, seed=seed)
    if base is None or len(base) != len(dataset):
        raise DataError(f"selection={strategy.value!r} needs the base embeddings of every row.")
    pick = kcenter_rows if strategy is Selection.KCENTER else kmeans_medoid_rows
    train = pick(base, n_train, seed=seed)
    return train, np.setdiff1d(np.arange(len(dataset)), train)


def train_test_indices(
    dataset: TextDataset, *, train_size: float | int = 0.2, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / test row indices, stratified on the labels where there are any.

    The split depends only on the rows and the seed, so every instruction sees the same split.
    """
    from sklearn.model_selection import train_test_split

    n = len(dataset)
    n_train = resolve_train_size(train_size, n)
    stratify = _stratification(dataset, n_train, n - n_train)
    train, test = train_test_split(
        np.arange(n), train_size=n_train, random_state=seed, shuffle=True, stratify=stratify
    )
    return np.sort(train), np.sort(test)


def _stratification(dataset: TextDataset, n_train: int, n_test: int) -> np.ndarray | None:
    """Joint labels when each combination gets 2+ train rows, else the first aspect, else none."""
    if not dataset.labels:
        return None
    candidates = [
        np.array(["|".join(row) for row in zip(*dataset.labels.values(), strict=True)]),
        dataset.labels[dataset.aspects[0]],
    ]
    for strata in candidates:
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= 2 and 2 * len(counts) <= min(n_train, n_test):
            return strata
    return None
