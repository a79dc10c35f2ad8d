"""Float list columns <-> numpy (instructlin.io.arrow_lists): every list type, exact values, the same either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.io import arrow_lists
from instructlin.io.speedups import Speedups
from instructlin.io.streaming import map_file
from tests.map_files import D, parquet_of, small_map

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

KINDS = {"list": pa.list_(pa.float32()), "large_list<double>": pa.large_list(pa.float64()),
         "fixed_size_list": pa.list_(pa.float32(), D)}
SOURCE = Path("part.parquet")


@pytest.mark.parametrize("arrow_buffers", [True, False])
@pytest.mark.parametrize("name", list(KINDS))
def test_a_sliced_list_column_reads_as_its_rows(name, arrow_buffers):
    X = np.random.default_rng(0).standard_normal((20, D))
    column = pa.array(list(X), type=KINDS[name]).slice(5, 9)  # offsets that do not start at 0
    got = arrow_lists.vectors(column, "embedding", SOURCE, arrow_buffers=arrow_buffers)
    np.testing.assert_array_equal(got, X[5:14].astype(got.dtype))
    assert got.shape == (9, D)


@pytest.mark.parametrize("arrow_buffers", [True, False])
@pytest.mark.parametrize("name", list(KINDS))
def test_mapped_rows_become_a_column_of_the_inputs_list_kind(name, arrow_buffers):
    mapped = np.random.default_rng(1).standard_normal((6, D)).astype(np.float32)
    kind = arrow_lists.output_type(KINDS[name], D)
    column = arrow_lists.list_array(mapped, kind, arrow_buffers=arrow_buffers)
    assert column.type == kind and kind.value_type == pa.float32()
    np.testing.assert_array_equal(np.stack(column.to_numpy(zero_copy_only=False)), mapped)


def test_ragged_and_null_vectors_are_refused_by_name_either_way():
    ragged = pa.array([[1.0, 2.0], [1.0]], type=pa.list_(pa.float32()))
    nulls = pa.array([[1.0, None], [1.0, 2.0]], type=pa.list_(pa.float32()))
    for arrow_buffers in (True, False):
        with pytest.raises(DataError, match="different lengths"):
            arrow_lists.vectors(ragged, "embedding", SOURCE, arrow_buffers=arrow_buffers)
        with pytest.raises(DataError, match="missing .null. numbers"):
            arrow_lists.vectors(nulls, "embedding", SOURCE, arrow_buffers=arrow_buffers)


def test_arrow_buffers_off_gives_the_same_parquet(tmp_path):
    model = InstructionMap.load(small_map(tmp_path))
    parquet_of(tmp_path / "in.parquet", np.random.default_rng(2).standard_normal((300, D)).astype(np.float32))
    map_file(model, tmp_path / "in.parquet", tmp_path / "buffers.parquet", chunk_size=64)
    map_file(model, tmp_path / "in.parquet", tmp_path / "rows.parquet", chunk_size=64,
             speed=Speedups(arrow_buffers=False))
    assert pq.read_table(tmp_path / "buffers.parquet").equals(pq.read_table(tmp_path / "rows.parquet"))
