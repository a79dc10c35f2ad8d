"""Train size (count or fraction) and which texts get a teacher pass (random or label-free)."""

from __future__ import annotations

import numpy as np
import pytest

from instructlin.cli.commands import main
from instructlin.errors import DataError
from instructlin.pipeline.sampling import kcenter_rows, parse_train_size, resolve_train_size, select_train_rows
from instructlin.sources.datasets import TextDataset


def blobs(n_per=20, centres=5, d=8, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(centres, d)) * 5
    X = np.concatenate([c + rng.normal(size=(n_per, d)) for c in C])
    labels = np.repeat([f"c{i}" for i in range(centres)], n_per)
    return TextDataset("blobs", [f"t{i}" for i in range(len(X))], {"c": labels}), X


def test_train_size_is_a_count_or_a_fraction():
    assert parse_train_size("32") == 32 and parse_train_size("0.2") == 0.2
    assert parse_train_size("20%") == pytest.approx(0.2)
    assert resolve_train_size(32, 288) == 32 and resolve_train_size(0.2, 288) == 58
    with pytest.raises(DataError, match="neither a count"):
        parse_train_size("a few")
    with pytest.raises(DataError, match=r"must be in \(0, 1\)"):
        resolve_train_size(1.5, 100)
    with pytest.raises(DataError, match="both need at least 2"):
        resolve_train_size(99, 100)


@pytest.mark.parametrize("selection", ["kcenter", "kmeans"])
def test_label_free_selection_covers_every_blob(selection):
    dataset, X = blobs()
    train, test = select_train_rows(dataset, X, train_size=5, selection=selection, seed=3)
    assert len(train) == 5 and len(test) == 95 and not set(train) & set(test)
    assert len(set(dataset.labels["c"][train])) == 5  # one text from each group, no label read
    again, _ = select_train_rows(dataset, X, train_size=5, selection=selection, seed=3)
    np.testing.assert_array_equal(train, again)


def test_kcenter_picks_far_apart_rows_and_needs_base_embeddings():
    dataset, X = blobs()
    rows = kcenter_rows(X, 10, seed=0)
    random_rows = np.random.default_rng(0).choice(len(X), 10, replace=False)

    def closest_pair(idx):
        Z = X[idx] / np.linalg.norm(X[idx], axis=1, keepdims=True)
        sim = Z @ Z.T
        np.fill_diagonal(sim, -1)
        return sim.max()

    assert closest_pair(rows) < closest_pair(random_rows)
    with pytest.raises(DataError, match="needs the base embeddings"):
        select_train_rows(dataset, None, train_size=5, selection="kcenter")


def test_cli_splits_and_count_train_size(tmp_path, facet_dataset):
    frame_path = tmp_path / "facets.csv"
    import pandas as pd

    pd.DataFrame({"text": [f"{t} news number {i}" for i, t in enumerate(facet_dataset.texts)],
                  "topic": facet_dataset.labels["topic"]}).to_csv(frame_path, index=False)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--data", str(frame_path), "--label-column", "topic", "--encoder", "minilm",
                 "--instruction", "Identify the topic", "--train-size", "32", "--selection", "kcenter",
                 "--splits", "3", "--kmeans-seeds", "2", "--no-timing", "--quiet",
                 "--output", str(out)]) == 0
    import json

    record = json.loads(out.read_text())
    assert record["n_train"] == 32 and record["selection"] == "kcenter"
    splits = record["splits"]
    assert splits["n"] == 3 and splits["seeds"] == [42, 43, 44] and len(splits["maps"]) == 3
    assert set(splits["cosine"]) == {"mean", "sd", "n"} and splits["cosine"]["n"] == 3
    assert 0 < splits["cosine"]["mean"] <= 1 and splits["cosine"]["sd"] >= 0
