"""Sharded runs: one output shard per input shard, resumable, in this process or on Ray Data."""

from instructlin.shards.embed import embed_shards
from instructlin.shards.runs import map_shards

__all__ = ["embed_shards", "map_shards"]
