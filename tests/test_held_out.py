"""What Compare and Your vectors read off a run: held-out points named by corpus id with their movement,
the vectors exported (mapped, or the given instructed ones kept), and the shipped example's spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.pipeline.explore import COSINE_ERROR, MOVES
from instructlin.pipeline.held_out import exploration, held_out_points
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack
from instructlin.sources.text_dataset import TextDataset
from instructlin.vectors.files import VectorFile, align
from instructlin.vectors.runs import exported_vectors, fit_vectors
from instructlin.vectors.shipped import example_spec, instructed_files

pytest.importorskip("pandas")


@pytest.fixture
def explored(facet_encoder, facet_dataset):
    """The planted facet corpus with corpus ids, a map to the place instruction fitted on every other row."""
    data = TextDataset(facet_dataset.name, facet_dataset.texts, facet_dataset.labels,
                       ids=tuple(f"doc-{i:03d}" for i in range(len(facet_dataset))))
    base = facet_encoder.encode(data.texts)
    instructed = facet_encoder.encode(data.texts, instruction="place")
    train, test = np.arange(0, len(data), 2), np.arange(1, len(data), 2)
    model = InstructionMap("ridge").fit(base[train], instructed[train])
    views = {"base": base[test], "mapped": model.transform(base[test]), "instructed": instructed[test]}
    coords = {space: np.column_stack([np.arange(len(test)), -np.arange(len(test))]) for space in views}
    return data, test, exploration(held_out_points(data, test, views), coords)


def test_held_out_points_name_rows_by_corpus_id_with_their_labels(explored):
    data, test, found = explored
    points = found.points
    assert len(points) == len(test) == 80 and points.ids[:2] == ["doc-001", "doc-003"]
    assert points.texts[0] == data.texts[1] and list(points.labels["place"][:2]) == ["p0", "p0"]
    assert points.n_classes("topic") == 4 and points.positions(["doc-003", "doc-000", "doc-001"]) == [1, 0]


def test_the_map_moves_rows_toward_the_place_neighbourhoods(explored):
    _, _, found = explored
    moves = found.moves
    assert set(moves) == {*MOVES, COSINE_ERROR}
    # the instruction rewires neighbourhoods (topic -> place); the map follows it, so it misses less
    assert moves["instruction moved"].mean() > 0.5
    assert moves["map missed"].mean() < moves["instruction moved"].mean() - 0.2
    every = found.every
    assert list(every["id"][:2]) == ["doc-001", "doc-003"] and every["base_y"].iloc[3] == -3
    assert every["text"].iloc[0] == "0|0|1"


@pytest.mark.skipif(not (DEMO_PACK_DIR / MANIFEST).exists(), reason="no embedding pack in data/teacher")
def test_exports_keep_the_given_instructed_vectors_only_when_asked():
    pack = read_pack(DEMO_PACK_DIR)
    base, location = pack.load(None), pack.load(pack.instructions_for("location")[0])
    paired = np.arange(0, 288, 4)
    ids = np.array([f"row-{i}" for i in range(288)])
    run = fit_vectors(align(VectorFile("b", base, ids), VectorFile("i", location[paired], ids[paired])))
    assert np.array_equal(run.aligned.paired, paired)
    mapped, kept = exported_vectors(run), exported_vectors(run, keep_instructed=True)
    assert np.array_equal(mapped, run.mapped) and mapped is not run.mapped
    assert np.array_equal(kept[paired], location[paired]) and not np.allclose(mapped[paired], location[paired])
    rest = np.setdiff1d(np.arange(288), paired)
    assert np.array_equal(kept[rest], run.mapped[rest])


@pytest.mark.skipif(not (DEMO_PACK_DIR / MANIFEST).exists(), reason="no embedding pack in data/teacher")
def test_the_shipped_example_takes_the_labelling_its_manifest_names():
    pack = read_pack(DEMO_PACK_DIR)
    files = instructed_files(pack)
    assert "base.npy" not in files and "country.npy" in files
    corpus = Path(DEMO_PACK_DIR).parent / "news_demo.csv"
    country = example_spec(pack, "country.npy", corpus=corpus, seed=7)
    assert country.label_column == "location" and country.labels == str(corpus) and country.id_column == ""
    assert country.names == ("base.npy", "country.npy", "news_demo.csv") and country.seed == 7
    sentiment = example_spec(pack, "sentiment.npy", corpus=corpus)
    assert sentiment.labels is None and sentiment.label_column is None and sentiment.names[2] is None
