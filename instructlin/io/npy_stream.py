"""A ``.npy`` (n, d) file mapped block by block: a direct read, one GEMM and a direct write per block."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.errors import DataError
from instructlin.io import direct_io
from instructlin.io.affine_blocks import BlockAffine, ChunkProgress, check_mapped_block, to_float32
from instructlin.io.npy_files import read_npy_header
from instructlin.io.speedups import ALL, Speedups


def _read_npy_header(fh: Any, source: Path) -> tuple[int, int, np.dtype]:
    """Rows, columns and dtype of an open .npy file, positioned at its data; refuses what cannot stream."""
    shape, fortran_order, dtype = read_npy_header(fh, source.name)
    if dtype.hasobject or dtype.kind != "f":
        raise DataError(f"{source.name} holds {dtype} values; embeddings must be float16, float32 or float64.")
    if len(shape) != 2:
        raise DataError(f"{source.name} holds an array of shape {shape}; expected (n, d).")
    if fortran_order:
        raise DataError(f"{source.name} is stored in Fortran (column) order, which cannot be read in row chunks; "
                        "re-save it with np.save(path, np.ascontiguousarray(array)).")
    n, d = shape
    missing = n * d * dtype.itemsize - (os.fstat(fh.fileno()).st_size - fh.tell())
    if missing > 0:
        raise DataError(f"{source.name} is truncated: {missing} bytes of its {n} x {d} array are missing.")
    return n, d, dtype


def _reserve(fh: Any, size: int) -> None:
    """Allocate the output's blocks up front: a full disk shows before any work, and writes are faster."""
    if size and hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fh.fileno(), 0, size)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            # EINVAL / EOPNOTSUPP: the file system cannot reserve; the writes still work


def map_npy(affine: BlockAffine, source: Path, target: Path, chunk_size: int, progress: ChunkProgress | None,
            speed: Speedups = ALL) -> int:
    """Map ``source`` into ``target`` (both .npy) in blocks of at most ``chunk_size`` rows; returns the rows."""
    with open(source, "rb", buffering=0) as fh:
        n, d, dtype = _read_npy_header(fh, source)
        affine.check(d)
        rows = direct_io.aligned_rows(affine.block_rows(chunk_size, n), 4 * affine.d_out)
        x = None if dtype == np.float32 else np.empty((rows, d), dtype=np.float32)
        y = direct_io.aligned_empty((rows, affine.d_out))
        header = direct_io.npy_header((n, affine.d_out))
        blocks = direct_io.read_blocks(str(source), fh.tell(), n, (d,), dtype, rows, direct=speed.direct_io)

        def write(tmp: str) -> None:
            with direct_io.DirectOutput(tmp, direct=speed.direct_io) as out:
                out.write_all(header)
                _reserve(out, out.tell() + n * affine.d_out * 4)
                try:
                    for start, raw in blocks:
                        k = len(raw)
                        affine(to_float32(raw, None if x is None else x[:k]), y[:k])
                        check_mapped_block(raw, y[:k], start, source)
                        out.write_all(y[:k])
                        if progress:
                            progress(start + k, n)
                except EOFError:
                    raise DataError(f"{source.name} ended early while being read; was it being rewritten?") from None

        atomic_write(target, write)
    return n
