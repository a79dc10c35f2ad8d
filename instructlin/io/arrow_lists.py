"""Float list columns of Arrow tables <-> (rows, d) numpy arrays, through Arrow's flat buffers.

Used to stream Parquet embeddings: converting a list column row by row (one numpy array per vector)
costs more than the GEMM it feeds. ``arrow_buffers=False`` converts row by row, for the benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from instructlin.errors import DataError
from instructlin.extras import require


def list_type(field: Any, source: Path) -> Any:
    pa = require("pyarrow", purpose="Parquet")

    kind = field.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)) or \
            not pa.types.is_floating(kind.value_type):
        raise DataError(f"Column {field.name!r} of {source.name} has type {kind}; expected a list of floats "
                        "(one embedding per row). Name the embeddings column with --column.")
    return kind


def output_type(kind: Any, d_out: int) -> Any:
    """The input's list type (list, large_list or fixed_size_list, same item name) holding float32."""
    pa = require("pyarrow", purpose="Parquet")

    item = kind.value_field.with_type(pa.float32())
    if pa.types.is_fixed_size_list(kind):
        return pa.list_(item, d_out)
    return pa.large_list(item) if pa.types.is_large_list(kind) else pa.list_(item)


def vectors(array: Any, column: str, source: Path, *, arrow_buffers: bool = True) -> np.ndarray:
    """The (rows, d) numpy view of one chunk of a list column, checked: no nulls, one length."""
    pa = require("pyarrow", purpose="Parquet")

    where = f"Column {column!r} of {source.name}"
    if array.null_count:
        raise DataError(f"{where} has {array.null_count} missing (null) vectors; drop or fill those rows first.")
    rows = len(array)
    if pa.types.is_fixed_size_list(array.type):
        values, d = array.flatten(), array.type.list_size
    else:
        offsets = array.offsets.to_numpy()
        lengths = np.diff(offsets)
        d = int(lengths[0]) if rows else 0
        if (lengths != d).any():
            bad = int(np.argmax(lengths != d))
            raise DataError(f"{where} has vectors of different lengths ({d} and {int(lengths[bad])}); "
                            "every row needs one embedding of the same dimension.")
        values = array.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    if values.null_count:
        raise DataError(f"{where} has {values.null_count} missing (null) numbers inside its vectors.")
    if not arrow_buffers and rows:
        return np.stack(array.to_numpy(zero_copy_only=False))
    return values.to_numpy(zero_copy_only=False).reshape(rows, d)


def list_array(mapped: np.ndarray, kind: Any, *, arrow_buffers: bool = True) -> Any:
    """A list column of ``kind`` over ``mapped``'s memory (one flat values buffer plus offsets)."""
    pa = require("pyarrow", purpose="Parquet")

    if not arrow_buffers:
        return pa.array(list(mapped), type=kind)
    rows, d = mapped.shape
    values = pa.array(mapped.reshape(-1))
    if pa.types.is_fixed_size_list(kind):
        return pa.FixedSizeListArray.from_arrays(values, type=kind)
    large = pa.types.is_large_list(kind)
    offsets = pa.array(np.arange(0, (rows + 1) * d, d, dtype=np.int64 if large else np.int32))
    return (pa.LargeListArray if large else pa.ListArray).from_arrays(offsets, values, type=kind)
