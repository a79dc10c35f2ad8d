"""instructlin.pipeline.explore: movement, neighbours, search and exports, on planted data and on the shipped
EmbeddingGemma pack of the demo corpus (data/teacher) with a map fitted on its 20 % train part."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.metrics import knn_overlap, row_cosine
from instructlin.pipeline import explore
from instructlin.sources.datasets import dataset_from_frame, load_demo, sample_per_class

pd = pytest.importorskip("pandas")
PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"


@pytest.fixture(scope="module")
def gemma():
    """Base and location-instructed EmbeddingGemma test rows of the demo corpus, and the mapped ones."""
    from instructlin import InstructionMap, train_test_indices
    from instructlin.sources.cache import texts_digest

    data = load_demo()
    manifest = json.loads((PACK / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["texts"]["sha256"] == texts_digest(data.texts)  # the pack is of these texts, in this order
    base, location = np.load(PACK / "base.npy"), np.load(PACK / "location.npy")
    train, test = train_test_indices(data, train_size=0.2, seed=42)
    mapper = InstructionMap().fit(base[train], location[train], X_unpaired=base)
    views = {"base": base[test], "mapped": mapper.transform(base[test]), "instructed": location[test]}
    return data, test, views


def test_demo_rows_carry_their_corpus_ids():
    data = load_demo()
    frame = pd.read_csv(PACK.parent / "news_demo.csv")
    assert data.row_ids() == tuple(frame["id"].astype(str))
    sample = sample_per_class(data, 4)  # a sample keeps each row's id, not its position in the sample
    assert [data.texts[data.row_ids().index(i)] for i in sample.row_ids()] == sample.texts
    assert sample.row_ids() != tuple(str(i) for i in range(len(sample)))


def test_ids_without_a_unique_id_column_are_row_numbers():
    rows = {"text": ["a b", "c d", "e f", "g h"], "label": ["x", "y", "x", "y"]}
    assert dataset_from_frame(pd.DataFrame(rows)).row_ids() == ("0", "1", "2", "3")
    twice = dataset_from_frame(pd.DataFrame({**rows, "id": ["p", "p", "q", "r"]}))
    assert twice.ids is None and twice.row_ids() == ("0", "1", "2", "3")  # duplicate ids name nothing
    named = dataset_from_frame(pd.DataFrame({**rows, "id": [10, 11, 12, 13]}))
    assert named.subset([3, 1]).row_ids() == ("13", "11")


def test_neighbour_change_planted():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 8)) * 10
    A = np.repeat(centres, 6, axis=0) + rng.normal(size=(12, 8))
    assert np.all(explore.neighbour_change(A, A, k=3) == 0.0)
    B = A.copy()
    B[[0, 6]] = B[[6, 0]]  # rows 0 and 6 swap clusters: all their neighbours change, the others' barely
    change = explore.neighbour_change(A, B, k=3)
    assert change[0] == change[6] == 1.0
    assert change[[1, 2, 3, 4, 5, 7, 8, 9, 10, 11]].max() < 1.0
    # its mean is one minus the library's 10-NN overlap, the number the Train page shows
    assert 1.0 - change.mean() == pytest.approx(knn_overlap(A, B, k=3))
    assert np.all(explore.neighbour_change(A[:1], B[:1]) == 0.0)  # one row has no neighbours to lose
    with pytest.raises(ValueError, match="12 rows and B has 11"):
        explore.neighbour_change(A, B[:11])


def test_movement_on_the_gemma_pack(gemma):
    data, test, views = gemma
    moves = explore.movement(views)
    assert set(moves) == {*explore.MOVES, explore.COSINE_ERROR}
    for name, (a, b) in explore.MOVES.items():
        assert moves[name].mean() == pytest.approx(1.0 - knn_overlap(views[a], views[b]))
    np.testing.assert_allclose(moves[explore.COSINE_ERROR], 1 - row_cosine(views["mapped"], views["instructed"]),
                               atol=1e-6)
    assert moves["instruction moved"].mean() > 0.1  # the location instruction really moves Gemma's neighbourhoods

    ids = np.asarray(data.row_ids())[test]
    labels = {a: data.labels[a][test] for a in data.aspects}
    table = explore.point_table(ids=ids, texts=[data.texts[i] for i in test], labels=labels, moves=moves)
    top = explore.moved_most(table.sample(frac=1.0, random_state=0), by="map missed", top=10)
    assert len(top) == 10 and list(top["map missed"]) == sorted(top["map missed"], reverse=True)
    assert top["map missed"].iloc[0] == moves["map missed"].max()
    assert top["map missed"].iloc[-1] >= np.sort(moves["map missed"])[-10]
    # the same ranking whatever order the table came in (ties broken by the other columns, then the id)
    assert list(top["id"]) == list(explore.moved_most(table, by="map missed", top=10)["id"])
    for _, row in top.iterrows():  # each row is the corpus row its id names
        i = data.row_ids().index(row["id"])
        assert row["text"] == data.texts[i] and row["location"] == data.labels["location"][i]
        assert row["map missed"] == pytest.approx(moves["map missed"][list(test).index(i)], abs=1e-4)
    with pytest.raises(ValueError, match="choose one of"):
        explore.moved_most(table, by="nonsense")


def test_nearest_neighbours_in_three_spaces_on_the_gemma_pack(gemma):
    data, test, views = gemma
    location = data.labels["location"][test]
    found = explore.nearest(views, 0, k=5)
    for space, (rows, sims) in found.items():
        X = views[space] / np.linalg.norm(views[space], axis=1, keepdims=True)
        brute = X[1:] @ X[0]
        assert 0 not in rows and list(sims) == sorted(sims, reverse=True)
        assert sims[0] == pytest.approx(brute.max(), abs=1e-6)
        np.testing.assert_allclose(sims, X[rows] @ X[0], atol=1e-6)
    # Gemma follows the location instruction: instructed and mapped neighbours share the location
    # far more often than base ones (over every held-out text)
    agree = {s: np.mean([np.mean(location[explore.nearest(views, r, k=5)[s][0]] == location[r])
                         for r in range(len(test))]) for s in explore.SPACES}
    assert agree["instructed"] > agree["base"] + 0.1 and agree["mapped"] > agree["base"] + 0.1

    ids = np.asarray(data.row_ids())[test]
    tables = explore.neighbour_tables(views, 0, ids=ids, texts=[data.texts[i] for i in test],
                                      labels={"location": location}, k=5)
    for space, table in tables.items():
        rows = found[space][0]
        assert list(table["id"]) == list(ids[rows]) and list(table["rank"]) == [1, 2, 3, 4, 5]
        assert list(table["location"]) == list(location[rows])
    assert explore.shared_neighbours_count(tables, "base") == len(set(ids[found["base"][0]]) &
                                                                  set(ids[found["instructed"][0]]))
    with pytest.raises(ValueError, match="outside the"):
        explore.nearest(views, len(test))
    with pytest.raises(ValueError, match="same rows"):
        explore.nearest({**views, "mapped": views["mapped"][:3]}, 0)


def test_search_and_label_filter_on_the_demo():
    data = load_demo()
    ids = data.row_ids()
    found = explore.matching_rows(data.texts, ids=ids, query="SASKATCHEWAN canola")
    assert len(found) >= 1
    assert all("saskatchewan" in data.texts[i].lower() and "canola" in data.texts[i].lower() for i in found)
    expected = [i for i, t in enumerate(data.texts) if "saskatchewan" in t.lower() and "canola" in t.lower()]
    assert list(found) == expected
    assert list(explore.matching_rows(data.texts, ids=ids, query="news-017")) == [ids.index("news-017")]
    assert len(explore.matching_rows(data.texts, ids=ids, query="  ")) == len(data)
    place = data.labels["location"][0]
    kept = explore.matching_rows(data.texts, labels=data.labels, keep={"location": [place], "topic": []})
    assert list(kept) == list(np.flatnonzero(data.labels["location"] == place))
    both = explore.matching_rows(data.texts, ids=ids, query="the", labels=data.labels, keep={"location": [place]})
    assert set(both) <= set(kept) and all("the" in data.texts[i].lower() for i in both)
    with pytest.raises(ValueError, match="no label column 'colour'"):
        explore.matching_rows(data.texts, labels=data.labels, keep={"colour": ["red"]})


@pytest.mark.parametrize("fmt", list(explore.ExportFormat))
def test_exports_keep_ids_labels_and_coordinates(fmt):
    if fmt is explore.ExportFormat.PARQUET:
        pytest.importorskip("pyarrow")
    rng = np.random.default_rng(1)
    coords = {s: rng.normal(size=(4, 2)) for s in explore.SPACES}
    table = explore.point_table(ids=["n-3", "n-1", "007", "n-9"], texts=["a, b", 'say "hi"', "x\ny", "é"],
                                labels={"topic": ["t", "u", "t", "v"]}, coords=coords)
    data = explore.export_bytes(table, fmt)
    back = pd.read_csv(io.BytesIO(data), dtype={"id": str}) if fmt == "csv" else pd.read_parquet(io.BytesIO(data))
    assert list(back["id"]) == ["n-3", "n-1", "007", "n-9"]  # ids stay strings: "007" is not 7
    assert list(back["text"]) == ["a, b", 'say "hi"', "x\ny", "é"]
    for space in explore.SPACES:
        np.testing.assert_allclose(back[[f"{space}_x", f"{space}_y"]].to_numpy(), coords[space])
    with pytest.raises(ValueError, match="every column needs 4 rows"):
        explore.point_table(ids=["a", "b", "c", "d"], texts=["t"] * 4, labels={"topic": ["x"] * 3})
