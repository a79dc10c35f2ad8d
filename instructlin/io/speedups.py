"""Switches for the streaming map's I/O speed-ups, so a benchmark can time each against the plain path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speedups:
    """Which speed-ups :func:`instructlin.io.streaming.map_file` uses; all on by default.

    ``direct_io``: O_DIRECT reads and writes (.npy) and aligned direct writes from a thread (Parquet).
    ``overlap``: the next block read, and the last one written, from threads while this one is mapped.
    ``split_blas``: BLAS held to one thread per half of a Parquet block, two halves mapped at once.
    ``arrow_buffers``: Parquet list columns converted through Arrow buffers instead of per-row arrays.
    """

    direct_io: bool = True
    overlap: bool = True
    split_blas: bool = True
    arrow_buffers: bool = True


ALL = Speedups()
PLAIN = Speedups(direct_io=False, overlap=False, split_blas=False, arrow_buffers=True)
