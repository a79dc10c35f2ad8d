"""The streaming map's front and Parquet path (instructlin.io.streaming): refusals, columns, codecs, errors."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.io.streaming import map_file
from tests.map_files import D, expected, hidden, parquet_of, parquet_vectors, run_main, small_map
from tests.reliability import Case, params

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MAP_SURFACE = "instructlin map / map_file"
REFUSED = "DataError: one line, exit 2; no output and no temp file left"


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory):
    return small_map(tmp_path_factory.mktemp("maps"))


@pytest.fixture(scope="module")
def model(map_dir) -> InstructionMap:
    return InstructionMap.load(map_dir)


def bad_input(folder: Path, kind: str) -> Path:
    """One malformed embeddings file, by name (the Case data say which)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, D)).astype(np.float32)
    if kind == "fortran":
        np.save(folder / "in.npy", np.asfortranarray(X))
    elif kind == "object":
        np.save(folder / "in.npy", np.array([[1.0, "a"]] * 3, dtype=object), allow_pickle=True)
    elif kind == "int":
        np.save(folder / "in.npy", np.arange(5 * D).reshape(5, D))
    elif kind == "3d":
        np.save(folder / "in.npy", X.reshape(5, 2, 4))
    elif kind == "truncated":
        np.save(folder / "in.npy", X)
        (folder / "in.npy").write_bytes((folder / "in.npy").read_bytes()[:-10])
    elif kind == "good-npy":
        np.save(folder / "in.npy", X)
    elif kind == "nan-npy":
        X[3, 2] = np.nan
        np.save(folder / "in.npy", X)
    elif kind == "inf-parquet":
        X[4, 0] = np.inf
        return parquet_of(folder / "in.parquet", X)
    elif kind == "null-vector":
        return parquet_of(folder / "in.parquet", [*X[:2], None, *X[3:]])
    elif kind == "ragged":
        return parquet_of(folder / "in.parquet", [X[0], X[1][:5], *X[2:]])
    elif kind == "strings":
        pq.write_table(pa.table({"embedding": ["a", "b"]}), folder / "in.parquet")
        return folder / "in.parquet"
    return folder / "in.npy"


BAD_INPUT_CASES = [
    Case("`--chunk-size -1`", MAP_SURFACE, f"{REFUSED}; the message names --chunk-size, the value and the range",
         {"file": "good-npy", "args": ["--chunk-size", "-1"], "says": ["--chunk-size", "-1"]}),
    Case("`--chunk-size 0`", MAP_SURFACE, f"{REFUSED}; the message names --chunk-size, the value and the range",
         {"file": "good-npy", "args": ["--chunk-size", "0"], "says": ["--chunk-size", "got 0"]}),
    Case("a .npy saved in Fortran (column) order", MAP_SURFACE,
         f"{REFUSED}; the message says to re-save it with np.ascontiguousarray",
         {"file": "fortran", "says": ["Fortran", "ascontiguousarray"]}),
    Case("a .npy of Python objects (pickled)", MAP_SURFACE,
         f"{REFUSED}; nothing is unpickled; the message asks for float16/32/64",
         {"file": "object", "says": ["float16, float32 or float64"]}),
    Case("a .npy of integers", MAP_SURFACE, f"{REFUSED}; the message asks for float16/32/64",
         {"file": "int", "says": ["int64", "float32"]}),
    Case("a 3-D .npy", MAP_SURFACE, f"{REFUSED}; the message gives the shape and expects (n, d)",
         {"file": "3d", "says": ["(5, 2, 4)", "(n, d)"]}),
    Case("a truncated .npy (bytes missing at the end)", MAP_SURFACE,
         f"{REFUSED}; the message says how many bytes are missing", {"file": "truncated", "says": ["truncated"]}),
    Case("a .npy with a NaN in one row", MAP_SURFACE, f"{REFUSED}; the message names the row",
         {"file": "nan-npy", "says": ["row 3", "NaN"]}),
    Case("a Parquet embeddings column with an infinite value", MAP_SURFACE, f"{REFUSED}; the message names the row",
         {"file": "inf-parquet", "says": ["row 4", "infinity"]}),
    Case("a Parquet embeddings column with a null row", MAP_SURFACE,
         f"{REFUSED}; the message names the column and the number of nulls",
         {"file": "null-vector", "says": ["'embedding'", "1 missing"]}),
    Case("a Parquet embeddings column with vectors of different lengths", MAP_SURFACE,
         f"{REFUSED}; the message names the column and both lengths",
         {"file": "ragged", "says": ["'embedding'", "different lengths"]}),
    Case("a Parquet embeddings column of strings", MAP_SURFACE,
         f"{REFUSED}; the message names the column, its type and --column",
         {"file": "strings", "says": ["'embedding'", "string", "--column"]}),
]


@pytest.mark.parametrize("case", params(BAD_INPUT_CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case, map_dir, tmp_path, capsys):
    source = bad_input(tmp_path, case.data["file"])
    target = tmp_path / f"out{source.suffix}"
    code = run_main(["map", "--map", str(map_dir), "--input", str(source), "--output", str(target), "--quiet",
                     *case.data.get("args", [])])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("instructlin: error: ") and err.count("\n") == 1, err
    assert all(text in err for text in case.data["says"]), err
    assert not target.exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("chunk_size", [1.5, "10", True, None, -5])
def test_map_file_validates_chunk_size_itself(model, tmp_path, chunk_size):
    np.save(tmp_path / "in.npy", np.ones((3, D), np.float32))
    with pytest.raises(DataError, match="--chunk-size"):
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=chunk_size)


def test_an_output_that_is_the_input_is_refused_before_any_work(model, tmp_path):
    np.save(tmp_path / "in.npy", np.ones((3, D), np.float32))
    os.link(tmp_path / "in.npy", tmp_path / "link.npy")
    before = (tmp_path / "in.npy").read_bytes()
    for target in (tmp_path / "in.npy", tmp_path / "sub" / ".." / "in.npy", tmp_path / "link.npy"):
        with pytest.raises(DataError, match="is the input file"):
            map_file(model, tmp_path / "in.npy", target)
    assert (tmp_path / "in.npy").read_bytes() == before


def test_streaming_does_not_go_through_the_validating_float64_transform(model, tmp_path, monkeypatch):
    """Throughput regression: the slow path (sklearn validation per chunk) must stay out of the loop."""
    X = np.random.default_rng(3).normal(size=(20, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    parquet_of(tmp_path / "in.parquet", X)
    monkeypatch.setattr(InstructionMap, "transform", lambda *a, **k: pytest.fail("transform called per chunk"))
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=6)
    map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=6)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected(model, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(parquet_vectors(tmp_path / "out.parquet"), expected(model, X), rtol=1e-5, atol=1e-5)


LIST_TYPES = {"list": pa.list_(pa.float32()), "large_list<double>": pa.large_list(pa.float64()),
              "fixed_size_list": pa.list_(pa.float32(), D)}


@pytest.mark.parametrize("name", list(LIST_TYPES))
def test_parquet_keeps_list_type_and_other_columns(model, tmp_path, name):
    X = np.random.default_rng(4).normal(size=(30, D)).astype(np.float32)
    tags = pa.array([[f"t{i}"] for i in range(30)])
    parquet_of(tmp_path / "in.parquet", X, LIST_TYPES[name], tags=tags)
    assert map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_size=7) == 30
    source, out = pq.read_table(tmp_path / "in.parquet"), pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["id", "embedding", "tags"]
    assert out.column("id").equals(source.column("id")) and out.column("tags").equals(source.column("tags"))
    kind = out.schema.field("embedding").type
    assert type(kind) is type(source.schema.field("embedding").type) and kind.value_type == pa.float32()
    np.testing.assert_allclose(parquet_vectors(tmp_path / "out.parquet"), expected(model, X), rtol=1e-5, atol=1e-5)


def test_parquet_with_no_rows_gives_a_valid_empty_parquet(model, tmp_path):
    parquet_of(tmp_path / "in.parquet", np.zeros((0, D), np.float32))
    assert map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet") == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == 0 and out.column_names == ["id", "embedding"]
    assert out.schema.field("embedding").type == pa.list_(pa.float32())


def test_parquet_vectors_are_written_uncompressed_and_other_columns_as_pyarrow_would(model, tmp_path):
    """Float vectors do not compress, so snappy on them only costs time; ids and texts keep snappy."""
    X = np.random.default_rng(0).standard_normal((500, D)).astype(np.float32)
    table = pa.table({"id": np.arange(500), "text": [f"text {i % 7}" for i in range(500)],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), D)})
    pq.write_table(table, tmp_path / "in.parquet")
    map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    codecs = {group.column(i).path_in_schema: group.column(i).compression for i in range(group.num_columns)}
    assert codecs == {"id": "SNAPPY", "text": "SNAPPY", "embedding.list.element": "UNCOMPRESSED"}


def test_a_full_disk_while_writing_parquet_is_a_data_error(model, tmp_path, monkeypatch):
    """The writer's error must reach the caller, stop the map at once, and the temp file go."""
    source = parquet_of(tmp_path / "in.parquet", np.random.default_rng(2).normal(size=(40, D)).astype(np.float32))
    written = []
    real = pq.ParquetWriter.write_batch

    def fills_up(self, batch, *args, **kwargs):
        written.append(batch.num_rows)
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, batch, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", fills_up)
    with pytest.raises(DataError, match="Free some space"):
        map_file(model, source, tmp_path / "out.parquet", chunk_size=8)
    assert written == [8, 8]  # nothing was mapped after the failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_follow_the_umask(model, tmp_path, umask):
    X = np.ones((4, D), np.float32)
    np.save(tmp_path / "in.npy", X)
    parquet_of(tmp_path / "in.parquet", X)
    old = os.umask(umask)
    try:
        map_file(model, tmp_path / "in.npy", tmp_path / "out.npy")
        map_file(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    finally:
        os.umask(old)
    for path in (tmp_path / "out.npy", tmp_path / "out.parquet"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
