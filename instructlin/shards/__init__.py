"""Sharded runs: one output shard per input shard, resumable, in this process or on Ray Data.

``map_shards`` and ``embed_shards`` are imported on first use, so a module of this package (the engine
names, a worker) imports without the encoders.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["embed_shards", "map_shards"]
_HOMES = {"embed_shards": "instructlin.shards.embed", "map_shards": "instructlin.shards.runs"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'instructlin.shards' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
