"""Bring your own vectors: reading, aligning by id, fitting without an encoder, exporting (the shipped pack)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.archive import map_zip
from instructlin.errors import DataError
from instructlin.io.vector_zip import vectors_zip
from instructlin.sources.datasets import load_demo
from instructlin.vectors.files import MIN_PAIRS, LabelFile, VectorFile, align, read_labels, read_vectors
from instructlin.vectors.runs import VectorSpec, fit_vectors, parquet_bytes, run_vectors
from tests.reliability import Case, params

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"
#: How the upload store names files: a content hash. Errors must show the user's name instead.
STORED = "0123456789abcdef0123"


@pytest.fixture(scope="module")
def pack():
    """The shipped EmbeddingGemma-300m pack of the demo corpus: base, location, the demo's ids and labels."""
    if not (PACK / "base.npy").is_file():
        pytest.skip("the teacher pack data/teacher is not in this checkout")
    demo = load_demo()
    ids = np.array([row["id"] for row in csv.DictReader((PACK.parent / "news_demo.csv").open(encoding="utf-8"))])
    return {"base": np.load(PACK / "base.npy"), "location": np.load(PACK / "location.npy"),
            "topic": np.load(PACK / "topic.npy"), "ids": ids, "labels": demo.labels["location"]}


def write_parquet(path: Path, ids, vectors: np.ndarray, *, kind: str = "fixed", extra: dict | None = None) -> Path:
    vectors = np.asarray(vectors, dtype=np.float32)
    flat = pa.array(vectors.reshape(-1))
    if kind == "fixed":
        column = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    else:
        cls, dtype = (pa.LargeListArray, np.int64) if kind == "large" else (pa.ListArray, np.int32)
        offsets = pa.array(np.arange(0, vectors.size + 1, vectors.shape[1], dtype=dtype))
        column = cls.from_arrays(offsets, flat)
    columns = {"vector": column} if ids is None else {"id": pa.array(list(ids)), "vector": column}
    pq.write_table(pa.table({**columns, **(extra or {})}), path)
    return path


@pytest.mark.parametrize("kind", ["fixed", "list", "large"])
def test_shuffled_ids_and_a_partial_instructed_file_align_to_the_base_rows(pack, tmp_path, kind):
    rng = np.random.default_rng(7)
    order = rng.permutation(288)  # the base file lists rows in a shuffled order
    subset = rng.choice(288, 61, replace=False)  # instructed vectors for 61 rows, in yet another order
    base = read_vectors(write_parquet(tmp_path / "b.parquet", pack["ids"][order], pack["base"][order], kind=kind))
    instructed = read_vectors(write_parquet(tmp_path / "i.parquet", pack["ids"][subset], pack["location"][subset]))
    label_order = rng.permutation(288)
    (tmp_path / "l.csv").write_text("id,place\n" + "".join(
        f"{pack['ids'][i]},{pack['labels'][i]}\n" for i in label_order), encoding="utf-8")
    aligned = align(base, instructed, read_labels(tmp_path / "l.csv"))
    assert aligned.matched_by == "id" and not aligned.complete
    assert list(aligned.ids) == list(pack["ids"][order])  # the base file's order is kept
    np.testing.assert_array_equal(aligned.base, pack["base"][order])
    assert np.all(np.diff(aligned.paired) > 0) and len(aligned.paired) == 61
    original = order[aligned.paired]  # which corpus row each paired base row is
    assert sorted(original) == sorted(subset)
    np.testing.assert_array_equal(aligned.instructed, pack["location"][original])
    np.testing.assert_array_equal(aligned.labels, pack["labels"][order])


def test_ids_give_the_same_run_as_positions(pack, tmp_path):
    """The instructed file in another order, matched by id, fits and scores exactly as the aligned .npy does."""
    np.save(tmp_path / "base.npy", pack["base"])
    np.save(tmp_path / "location.npy", pack["location"])
    by_row = align(read_vectors(tmp_path / "base.npy"), read_vectors(tmp_path / "location.npy"),
                   LabelFile("labels", pack["labels"]))
    shuffled = np.random.default_rng(3).permutation(288)
    by_id = align(VectorFile("b", pack["base"], pack["ids"]),
                  VectorFile("i", pack["location"][shuffled], pack["ids"][shuffled]),
                  LabelFile("l", pack["labels"][shuffled], pack["ids"][shuffled]))
    assert by_row.matched_by == "row" and by_id.matched_by == "id" and by_id.complete
    a, b = fit_vectors(by_row, method="ridge"), fit_vectors(by_id, method="ridge")
    np.testing.assert_array_equal(a.test, b.test)
    np.testing.assert_allclose(a.mapped, b.mapped, rtol=1e-5, atol=1e-6)
    assert a.scores.mapped.values == b.scores.mapped.values and a.cosine_mapped == pytest.approx(b.cosine_mapped)


def test_every_row_instructed_holds_out_a_split_and_the_map_learns_the_location_effect(pack, tmp_path):
    """EmbeddingGemma follows the location instruction; a map fitted on 20 % of the rows carries that to the rest."""
    labels = tmp_path / "labels.csv"
    labels.write_text("id,location\n" + "".join(f"{i},{lab}\n" for i, lab in enumerate(pack["labels"])),
                      encoding="utf-8")
    run = run_vectors(VectorSpec(str(PACK / "base.npy"), str(PACK / "location.npy"), str(labels), seed=42))
    n = 288
    assert len(run.train) == round(0.2 * n) and len(run.test) == n - len(run.train)
    assert not set(run.train) & set(run.test)
    s = run.scores
    assert s.instructed.mean > s.base.mean + 0.3  # the teacher follows the instruction
    assert s.mapped.mean > s.base.mean + 0.25  # the map, which saw 58 pairs, carries most of it
    assert s.gap_closed == pytest.approx((s.mapped.mean - s.base.mean) / (s.instructed.mean - s.base.mean))
    assert 0 < run.cosine_mapped <= 1 and run.n_scored == len(run.test)
    assert run.model.n_features_in_ == 768 and run.mapped.shape == (n, 768)
    si = run.stand_in  # the default map stands in for the teacher: nearer than no map, mixes fairly
    assert si.cosine_mapped == pytest.approx(run.cosine_mapped)
    assert si.cosine_mapped > si.cosine_base + 0.1 and si.recall10_mapped > si.recall10_base
    assert 0.4 <= si.mixed_share <= 0.6 and si.ndcg10_mixed >= 0.95 * si.ndcg10_teacher


def test_only_some_rows_instructed_all_train_and_the_rest_is_mapped(pack):
    rng = np.random.default_rng(11)
    subset = rng.choice(288, 72, replace=False)
    aligned = align(VectorFile("b", pack["base"], pack["ids"]),
                    VectorFile("i", pack["location"][subset], pack["ids"][subset]),
                    LabelFile("l", pack["labels"]))
    run = fit_vectors(aligned)
    assert sorted(run.train) == sorted(subset) and len(run.test) == 0 and run.scores is None
    u = run.unpaired_scores  # the premise: rows the teacher never saw get the instruction's clusters
    assert run.n_scored == 288 - 72
    assert u["mapped"].mean > u["base"].mean + 0.25, u


BAD = "library: instructlin.vectors.files"
SAYS = "refused with one line naming the user's file"
VECTOR_CASES = [
    Case("instructed vectors of another dimension than the base (384 vs 768)", BAD, f"{SAYS} and both dimensions",
         {"make": "dims", "says": "384 dimensions but"}),
    Case("a base Parquet file with a duplicated id", BAD, f"{SAYS} and the first duplicated id",
         {"make": "dup", "says": "duplicated id"}),
    Case("instructed ids that are not in the base file", BAD, f"{SAYS}, how many ids and the first missing one",
         {"make": "missing", "says": "are not in"}),
    Case("a base row holding NaN", BAD, f"{SAYS} and the id of the first bad row",
         {"make": "nan", "says": "NaN or inf (first: id 'news-007')"}),
    Case("a .npy of strings", BAD, f"{SAYS}: not numbers", {"make": "strings", "says": "not numbers"}),
    Case("a Parquet vector column of lists of strings", BAD, f"{SAYS}: not numbers",
         {"make": "string_lists", "says": "not numbers"}),
    Case("a .npy holding Python objects (pickle)", BAD, f"{SAYS}; it is never unpickled",
         {"make": "objects", "says": "never done"}),
    Case("more rows than the limit (instructlin.cli.options.MAX_VECTOR_ROWS)", BAD, f"{SAYS}, the rows and the limit",
         {"make": "rows", "says": "at most 100 are read"}),
    Case("a CSV renamed .npy", BAD, f"{SAYS}: not a .npy file", {"make": "not_npy", "says": "not a .npy"}),
    Case("a 1-D .npy", BAD, f"{SAYS} and the shape", {"make": "flat", "says": "shape (288,)"}),
    Case("more instructed rows than base rows, without ids", BAD, f"{SAYS}: rows are matched by position",
         {"make": "longer", "says": "matched by position"}),
    Case("labels missing for some base ids", BAD, f"{SAYS}, how many and the first id",
         {"make": "no_label", "says": "no label for 1 of 288"}),
    Case("a Parquet file with two list columns", BAD, f"{SAYS}: name the vector column",
         {"make": "two_lists", "says": "2 list columns"}),
    Case("instructed vectors for 3 rows", BAD, f"{SAYS}: the map needs at least {MIN_PAIRS}",
         {"make": "few", "says": f"at least {MIN_PAIRS}"}),
]


def bad_files(make: str, pack: dict, folder: Path) -> tuple[Path, Path, Path | None]:
    """(base, instructed, labels) files under hash-like stored names, one of them broken as ``make`` says."""
    base, loc, ids = pack["base"], pack["location"], pack["ids"]
    b, i, labels = folder / f"{STORED}-b.parquet", folder / f"{STORED}-i.parquet", None
    write_parquet(b, ids, base)
    write_parquet(i, ids, loc)
    if make == "dims":
        write_parquet(i, ids, loc[:, :384])
    elif make == "dup":
        write_parquet(b, np.r_[ids[:-1], ids[:1]], base)
    elif make == "missing":
        write_parquet(i, [f"x{k}" for k in range(288)], loc)
    elif make == "nan":
        broken = base.copy()
        broken[7, 3] = np.nan
        write_parquet(b, ids, broken)
    elif make in ("strings", "objects", "not_npy", "flat", "rows", "longer"):
        b = folder / f"{STORED}-b.npy"
        array = {"strings": np.array([["a", "b"]] * 288), "flat": base[:, 0], "rows": base}.get(make, base)
        np.save(b, array)
        if make == "objects":
            np.save(b, np.array([{"a": 1}] * 288, dtype=object), allow_pickle=True)
        if make == "not_npy":
            b.write_text("id,x\n1,2\n", encoding="utf-8")
        if make == "longer":
            i = folder / f"{STORED}-i.npy"
            np.save(i, np.r_[loc, loc[:5]])
    elif make == "string_lists":
        pq.write_table(pa.table({"id": list(ids), "vector": [["a", "b"]] * 288}), b)
    elif make == "no_label":
        labels = folder / f"{STORED}-l.csv"
        labels.write_text("id,place\n" + "".join(f"{k},{lab}\n" for k, lab in zip(ids[1:], pack["labels"][1:],
                                                                               strict=True)), encoding="utf-8")
    elif make == "two_lists":
        write_parquet(b, ids, base, extra={"other": pa.array([[1.0, 2.0]] * 288)})
    elif make == "few":
        write_parquet(i, ids[:3], loc[:3])
    return b, i, labels


@pytest.mark.parametrize("case", params(VECTOR_CASES))
def test_bad_vector_files_get_one_line_naming_the_users_file(case, pack, tmp_path):
    base, instructed, labels = bad_files(case.data["make"], pack, tmp_path)
    names = (f"my base{base.suffix}", f"my instructed{instructed.suffix}", "my labels.csv")
    spec = VectorSpec(str(base), str(instructed), str(labels) if labels else None, names=names)
    limit = {"max_rows": 100} if case.data["make"] == "rows" else {}
    with pytest.raises(DataError) as caught:
        if limit:
            read_vectors(base, name=names[0], **limit)
        run_vectors(spec)
    message = str(caught.value)
    assert case.data["says"] in message, message
    assert "\n" not in message and STORED not in message and str(tmp_path) not in message, message
    assert any(name in message for name in names), message


def test_exports_round_trip_ids_vectors_and_the_map(pack, tmp_path):
    from instructlin.core.archive import unpack_map_archive
    from instructlin.core.mapping import InstructionMap

    subset = np.arange(0, 288, 4)
    run = fit_vectors(align(VectorFile("b", pack["base"], pack["ids"]),
                            VectorFile("i", pack["location"][subset], pack["ids"][subset])), method="ridge")
    (tmp_path / "m.parquet").write_bytes(parquet_bytes(run.aligned.ids, run.mapped))
    back = read_vectors(tmp_path / "m.parquet")
    assert list(back.ids) == list(pack["ids"])
    np.testing.assert_array_equal(back.vectors, run.mapped)
    with zipfile.ZipFile(io.BytesIO(vectors_zip(run.mapped, run.aligned.ids))) as archive:
        array = np.load(io.BytesIO(archive.read("mapped.npy")), allow_pickle=False)
        ids = [row["id"] for row in csv.DictReader(io.StringIO(archive.read("ids.csv").decode()))]
    np.testing.assert_array_equal(array, run.mapped)
    assert ids == list(pack["ids"])
    (tmp_path / "map").mkdir()
    unpack_map_archive(io.BytesIO(map_zip(run.model)), tmp_path / "map")
    loaded = InstructionMap.load(tmp_path / "map")
    np.testing.assert_allclose(loaded.transform(pack["base"]), run.mapped, rtol=1e-4, atol=1e-5)
