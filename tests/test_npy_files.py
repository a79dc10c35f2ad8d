"""The one ``.npy`` decoder every reader shares: numbers only, never unpickled, damage named with the fix."""

from __future__ import annotations

import io

import numpy as np
import pytest

from instructlin.errors import DataError, PackError
from instructlin.io.npy_files import decode_npy, load_npy
from instructlin.vectors import read_vectors


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_a_numeric_array_decodes_from_a_path_and_from_bytes(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "a.npy", array)
    assert np.array_equal(decode_npy(tmp_path / "a.npy", "base"), array)
    assert np.array_equal(decode_npy(io.BytesIO(_npy_bytes(array)), "base"), array)


def test_python_objects_are_refused_not_unpickled():
    objects = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises(DataError, match=r"^pack/base\.npy holds Python objects, which instructlin never unpickles"):
        decode_npy(io.BytesIO(_npy_bytes(objects)), "pack/base.npy")


def test_a_truncated_array_is_damage_and_the_caller_picks_the_error_class():
    raw = _npy_bytes(np.ones((50, 8), dtype=np.float32))[:-100]
    with pytest.raises(PackError, match=r"^base\.npy is truncated or damaged \("):
        decode_npy(io.BytesIO(raw), "base.npy", error=PackError)


def test_every_reader_refuses_objects_through_the_same_decoder(tmp_path):
    path = tmp_path / "objects.npy"
    path.write_bytes(_npy_bytes(np.array([[{"x": 1}]], dtype=object)))
    for read in (lambda: load_npy(path, "--base"), lambda: read_vectors(path)):
        with pytest.raises(DataError, match="holds Python objects"):
            read()
