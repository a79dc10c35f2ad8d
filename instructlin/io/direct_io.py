"""Streaming ``.npy`` I/O with ``O_DIRECT``: the disk's DMA moves the bytes, not the CPU through the page cache.

A buffered write copies every output byte into the page cache, which at small dimensions costs about as
much CPU time as the matrix product itself. Direct I/O needs the memory address, the file offset and the
length aligned to the block size, so the .npy header written is padded to :data:`ALIGN` bytes (still a
valid version 1.0 header), buffers are page-aligned, blocks are whole multiples of :data:`ALIGN` and
reads are widened to :data:`ALIGN` boundaries; an unaligned tail is written the ordinary way. Where the
file system refuses direct I/O (some network mounts), the same calls do ordinary I/O. The streaming
benchmark times what it buys (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import errno
import math
import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

ALIGN = 4096  # a multiple of every common logical block size (512, 4096)
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def _open(path: str, flags: int, direct: bool = True) -> tuple[int, bool]:
    """``path`` opened with ``flags`` plus O_DIRECT, or without it where the file system refuses it."""
    flags |= getattr(os, "O_CLOEXEC", 0)
    if not direct:
        return os.open(path, flags), False
    try:
        return os.open(path, flags | _O_DIRECT), bool(_O_DIRECT)
    except OSError as err:
        if err.errno != errno.EINVAL:
            raise
        return os.open(path, flags), False


def _drop_direct(fd: int) -> None:
    """Switch an open file to ordinary I/O (an unaligned tail, or a file system that refuses direct I/O)."""
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)


def aligned_empty(shape: tuple[int, int], dtype: Any = np.float32) -> np.ndarray:
    """An uninitialised array whose memory starts on a page boundary (an anonymous mapping)."""
    size = max(1, math.prod(shape) * np.dtype(dtype).itemsize)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype, count=math.prod(shape)).reshape(shape)


def aligned_rows(rows: int, row_bytes: int) -> int:
    """``rows`` rounded down to a count whose bytes are a multiple of :data:`ALIGN`; fewer rows than the
    smallest such count stay as asked (their blocks are written the ordinary way)."""
    step = ALIGN // math.gcd(ALIGN, row_bytes)
    return rows if rows < step else rows - rows % step


def npy_header(shape: tuple[int, ...], dtype: Any = np.float32) -> bytes:
    """A version 1.0 .npy header for a C-ordered array, padded with spaces to :data:`ALIGN` bytes."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(shape)})
    prefix = np.lib.format.MAGIC_PREFIX + bytes([1, 0])
    length = ALIGN - len(prefix) - 2
    body = text.encode("latin1").ljust(length - 1) + b"\n"
    return prefix + length.to_bytes(2, "little") + body


class DirectOutput:
    """A file opened for direct writes where the file system allows, with a raw ``write`` for any length.

    ``write`` takes a buffer and returns how many bytes it wrote, like a raw file: aligned lengths go out
    directly, and the first unaligned one (the last block's tail) switches the file to ordinary writes.
    """

    def __init__(self, path: str, direct: bool = True) -> None:
        self.fd, self.direct = _open(path, os.O_WRONLY, direct)

    def fileno(self) -> int:
        return self.fd

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.direct:
            whole = len(view) - len(view) % ALIGN
            if whole:
                chunk = view[:whole]
                if np.frombuffer(chunk, np.uint8).ctypes.data % ALIGN:  # e.g. the header: copy to aligned memory
                    scratch = aligned_empty((1, whole), np.uint8)
                    scratch[0] = np.frombuffer(chunk, np.uint8)
                    chunk = memoryview(scratch).cast("B")
                try:
                    return os.write(self.fd, chunk)
                except OSError as err:
                    if err.errno != errno.EINVAL:  # EINVAL: this file system takes no direct writes after all
                        raise
            _drop_direct(self.fd)
            self.direct = False
        return os.write(self.fd, view)

    def write_all(self, data: Any) -> None:
        """Write every byte of ``data`` (a header, say)."""
        view = memoryview(data).cast("B")
        while view:
            view = view[self.write(view):]

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> DirectOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_blocks(path: str, offset: int, n_rows: int, row_shape: tuple[int, ...], dtype: Any,
                rows_per_block: int, direct: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_row, block)`` for every block of an array stored from byte ``offset`` of ``path``.

    Reads are direct where the file system allows (the disk's DMA fills page-aligned buffers, no copy
    through the page cache): each block's byte range is widened to :data:`ALIGN` boundaries and the
    block is a view into one reused buffer, valid until the next block is read. ``direct=False`` reads
    the ordinary way (through the page cache).
    """
    dtype = np.dtype(dtype)
    row_bytes = int(np.prod(row_shape)) * dtype.itemsize
    span = rows_per_block * row_bytes + 2 * ALIGN
    buf = aligned_empty((1, span), np.uint8)[0]
    fd, direct = _open(path, os.O_RDONLY, direct)
    try:
        for start in range(0, n_rows, rows_per_block):
            k = min(rows_per_block, n_rows - start)
            low, high = offset + start * row_bytes, offset + (start + k) * row_bytes
            first = low - low % ALIGN
            length = -(-(high - first) // ALIGN) * ALIGN
            got, direct = _pread_all(fd, memoryview(buf)[:length], first, high - first, direct)
            if got < high - first:
                raise EOFError(f"ended {high - first - got} bytes early")
            yield start, buf[low - first : high - first].view(dtype).reshape((k, *row_shape))
    finally:
        os.close(fd)


def _pread_all(fd: int, into: memoryview, position: int, needed: int, direct: bool) -> tuple[int, bool]:
    """Read into ``into`` from ``position`` until ``needed`` bytes are in (or the file ends); returns the
    bytes read and whether the file still reads directly."""
    got = 0
    while got < needed:
        try:
            step = os.preadv(fd, [into[got:]], position + got)
        except OSError as err:
            if err.errno != errno.EINVAL or not direct:
                raise
            _drop_direct(fd)  # this file system takes no direct reads after all: read the ordinary way
            direct = False
            continue
        if not step:
            break
        got += step
    return got, direct
