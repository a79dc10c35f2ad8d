"""Switches for the streaming map's I/O speed-ups, so a benchmark can time each against the plain path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speedups:
    """Which speed-ups :func:`instructlin.io.streaming.map_file` uses; all on by default, same output either way.

    ``direct_io``: .npy blocks read and written with O_DIRECT (:mod:`instructlin.io.direct_io`).
    ``arrow_buffers``: Parquet list columns converted through Arrow's flat buffers, not one array per row
    (:mod:`instructlin.io.arrow_lists`).
    """

    direct_io: bool = True
    arrow_buffers: bool = True


ALL = Speedups()
