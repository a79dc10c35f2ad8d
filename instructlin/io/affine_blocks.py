"""One block of rows through a saved map: ``x @ W + b`` in float32, its block sizes and its checks."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.core.checks import check_mapped
from instructlin.core.params import DEFAULT_CHUNK_SIZE
from instructlin.errors import DataError

ChunkProgress = Callable[[int, int], None]
#: Bytes of one float32 block buffer at most: blocks are ``chunk_size`` rows or fewer, so memory stays
#: near 3 x 64 MB (4 for float64 input) plus the interpreter, whatever the chunk size and the dimension.
BLOCK_BYTES = 64 * 2**20
#: A Parquet block lives in more copies at once (the decoded batch, its float32 view, the mapped block,
#: the encoded row group), so its budget is smaller; and under 32 MiB, so Arrow's allocator reuses its
#: buffers instead of mapping fresh zeroed pages for every batch.
PARQUET_BLOCK_BYTES = 24 * 2**20
#: Vector values the Parquet writer encodes per step: about one 1 MB data page (its default of 1,024
#: spends much of the writer's time on per-step overhead).
PARQUET_WRITE_BATCH = 2**18


def check_chunk_size(chunk_size: Any) -> int:
    """``chunk_size`` as an int, or a DataError naming ``--chunk-size`` and its valid range."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise DataError(f"--chunk-size must be a whole number of rows, 1 or more (default {DEFAULT_CHUNK_SIZE}); "
                        f"got {chunk_size!r}.")
    return int(chunk_size)


class BlockAffine:
    """``x @ W + b`` in float32, prepared once from a fitted map (no per-chunk validation or float64)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.W = np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float32).T)
        self.b = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float32), (self.W.shape[1],)).copy()
        self.d_in, self.d_out = self.W.shape

    def check(self, dim: int) -> None:
        self.model.check_compatible(dim=dim)

    def block_rows(self, chunk_size: int, n: int | None = None, *, budget: int = BLOCK_BYTES) -> int:
        """Rows per block: ``chunk_size``, fewer where a buffer would pass ``budget`` bytes, at least 1."""
        cap = budget // (4 * max(self.d_in, self.d_out, 1))
        return max(1, min(chunk_size, cap, chunk_size if n is None else n))

    def __call__(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return apply_affine(x, self.W, self.b, out=out)


def apply_affine(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """``x @ weight + bias`` for one block of rows: the one core every engine (single-process, Ray) runs.

    ``weight`` is (d_in, d_out), i.e. the map's ``coef_.T``; ``out`` (n, d_out), when given, is filled in
    place, so a streaming loop reuses one buffer. Pure: reads nothing but its arguments.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused by check_mapped_block, by row
        out = np.matmul(x, weight, out=out)
        out += bias
    return out


def to_float32(raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A block as float32 (into ``out`` when given); values beyond float32's range become inf, quietly:
    :func:`check_mapped_block` names them."""
    if raw.dtype == np.float32:
        return raw
    with np.errstate(over="ignore"):
        if out is None:
            return raw.astype(np.float32)
        np.copyto(out, raw, casting="same_kind")
        return out


def check_mapped_block(raw: np.ndarray, mapped: np.ndarray, start: int, source: Path) -> None:
    """DataError naming the first row that did not map to finite float32 values: NaN or infinity in ``raw``
    (the block as read), or else overflow. One sum of the mapped block when all is well, so it stays cheap."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(mapped)):
            return
    bad = np.flatnonzero(~np.isfinite(mapped).all(axis=1))
    if not bad.size:  # the sum overflowed on finite values: nothing to refuse
        return
    row = int(bad[0])
    if not np.isfinite(raw[row]).all():
        raise DataError(f"{source.name} row {start + row} holds NaN or infinity; drop or fix that row first "
                        "(nothing was written).")
    check_mapped(mapped, start, source.name)
