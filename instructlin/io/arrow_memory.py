"""Arrow's allocator for long streaming runs: jemalloc that keeps freed pages a while, not the default.

Mapping Parquet allocates and frees tens of MB per batch across three threads. Arrow's default allocator
(mimalloc here), and its jemalloc as Arrow configures it (freed pages returned at once), give many of
those pages back to the kernel, which must zero fresh ones for the next batch. Measured at 2,000,000 x
384 on 2 cores: 1.5-2.4 s of system time against 0.6-1.0 s with jemalloc keeping freed pages for its
upstream default of 10 s, and a 5-10 % slower map. The choice is process-wide, so only entry points that
own their process make it (``instructlin map`` and the streaming benchmark), never library functions;
Ray shard workers keep Arrow's default.
"""

from __future__ import annotations

import os

#: How long jemalloc keeps freed pages before returning them (jemalloc's own default; Arrow sets 0).
KEEP_FREED_PAGES_MS = 10_000


def keep_freed_pages() -> bool:
    """Make jemalloc, keeping freed pages :data:`KEEP_FREED_PAGES_MS`, Arrow's default allocator.

    Returns False and changes nothing where pyarrow is not installed, where its build has no jemalloc
    (Windows wheels), or where ``ARROW_DEFAULT_MEMORY_POOL`` already states the user's choice.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return False
    try:
        import pyarrow as pa

        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(KEEP_FREED_PAGES_MS)
    except (ImportError, NotImplementedError):
        return False
    pa.set_memory_pool(pool)
    return True
