"""Shard workers: what one process (or Ray actor) does with the shards it is given, for any engine.

A worker is built once, loads its model (a map, an encoder) before its first shard, and turns each input
shard into its output shard; :func:`run_shard` turns a bad shard into an outcome that names the problem
instead of a crash, so the other shards go on. The engines (:func:`run_local` here,
:func:`instructlin.shards.ray_engine.run_on_ray`) only hand shards to workers and collect the outcomes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.core.choices import Choice
from instructlin.core.map_io import file_sha256
from instructlin.errors import DataError, one_line
from instructlin.timing import peak_rss_mb

#: A worker: a callable object built once per process (or Ray actor) that maps a batch of shard paths,
#: ``{"shard": array of paths}``, to a batch of :class:`ShardOutcome` columns.
Batch = dict[str, np.ndarray]


class Engine(Choice):
    """What hands out the shards: this process (``local``), or a Ray Data actor pool (``ray``)."""

    LOCAL = "local"
    RAY = "ray"


@dataclass
class ShardOutcome:
    """What a worker did with one shard: the rows it wrote, or the one-line reason it wrote nothing."""

    name: str
    rows: int = 0
    input_size: int = 0
    input_mtime_ns: int = 0
    output_size: int = 0
    output_sha256: str = ""  # of the output file as written: a resume checks it, not only the size
    error: str = ""
    peak_rss_mb: float = 0.0  # of the process that did the work (a Ray worker reports its own), so far
    start_rss_mb: float = 0.0  # that process's memory once its model was loaded, before its first shard

    @classmethod
    def columns(cls, outcomes: list[ShardOutcome]) -> Batch:
        """The outcomes as a batch of columns (what a Ray Data ``map_batches`` function returns)."""
        rows = [asdict(o) for o in outcomes]
        return {key: np.array([r[key] for r in rows]) for key in cls.__dataclass_fields__}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ShardOutcome:
        kinds = {"name": str, "error": str, "output_sha256": str, "peak_rss_mb": float, "start_rss_mb": float}
        return cls(**{key: kinds.get(key, int)(row[key]) for key in cls.__dataclass_fields__})


def run_shard(shard: Path, target: Path, write: Callable[[Path, Path], int]) -> ShardOutcome:
    """``write(shard, target)`` with its input stamped first; a bad shard becomes an outcome, not a crash."""
    stat = shard.stat()
    outcome = ShardOutcome(shard.name, input_size=stat.st_size, input_mtime_ns=stat.st_mtime_ns)
    try:
        outcome.rows = write(shard, target)
        outcome.output_size = target.stat().st_size
        outcome.output_sha256 = file_sha256(target)
    except (DataError, ValueError, OSError) as err:
        outcome.error = one_line(err)
    outcome.peak_rss_mb = peak_rss_mb()
    return outcome


class ShardWorker:
    """A worker: built once per process (or Ray actor), then called on batches of shard paths.

    Subclasses keep their settings in ``__init__``, load their model in :meth:`load` (once, before the
    first shard) and write one shard in :meth:`write`; ``__call__`` is the batch adapter both engines use
    (Ray Data's ``map_batches`` calls it with ``{"shard": paths}``). A model that cannot load there (an
    encoder that is not on that node, say) makes every shard's outcome name the reason, instead of a
    dead actor and Ray's traceback.
    """

    output: Path
    driver: tuple[str, int] | None = None  # (host, pid) of the run's driver: orphaned workers write nothing
    _failure: str | None = None  # None: not loaded yet; "": loaded
    _start_rss_mb: float = 0.0

    def load(self) -> None:
        """Load the map or the encoder."""

    def ready(self) -> None:
        """:meth:`load` once, noting the memory in use before the first shard."""
        if self._failure is None:
            self.load()
            self._failure, self._start_rss_mb = "", peak_rss_mb("VmRSS")

    def write(self, shard: Path, target: Path) -> int:
        raise NotImplementedError

    def driver_gone(self) -> bool:
        """Whether the driver of this run died on this machine (``kill -9``): its manifest records nothing more."""
        from instructlin.atomic import owner_alive

        host, pid = self.driver or ("", 0)
        return host == socket.gethostname() and not owner_alive(pid)

    def __call__(self, batch: Batch) -> Batch:
        try:
            self.ready()
        except (DataError, ValueError, OSError, RuntimeError, ImportError) as err:
            self._failure = f"the worker could not start: {one_line(err)}"
        shards = [Path(str(s)) for s in batch["shard"]]
        if self.driver_gone():
            self._failure = "the run that started this worker is gone (killed); nothing was written"
        if self._failure:
            outcomes = [ShardOutcome(shard.name, error=self._failure) for shard in shards]
        else:
            outcomes = [run_shard(shard, self.output / shard.name, self.write) for shard in shards]
        for outcome in outcomes:
            outcome.start_rss_mb = self._start_rss_mb
        return ShardOutcome.columns(outcomes)


#: At most this many shards at once on the local engine by default: each holds its blocks in memory.
LOCAL_THREADS = 4


def local_threads(concurrency: int | None) -> int:
    """Shards at once on the local engine: ``concurrency``, or one per CPU up to :data:`LOCAL_THREADS`."""
    return concurrency or min(os.cpu_count() or 1, LOCAL_THREADS)


def run_local(worker: ShardWorker, shards: Iterable[Path], *, threads: int = 1) -> Iterator[ShardOutcome]:
    """The local engine: one worker in this process, ``threads`` shards at a time (a model that cannot load
    raises). Outcomes come as shards finish. More than one thread pays where a shard's work releases the GIL
    (file reads, Arrow decoding and writing, the GEMM): one shard's I/O overlaps another's GEMM."""
    worker.ready()

    def one(shard: Path) -> ShardOutcome:
        batch = worker({"shard": np.array([str(shard)])})
        return ShardOutcome.from_row({key: values[0] for key, values in batch.items()})

    shards = list(shards)
    if threads <= 1 or len(shards) <= 1:
        yield from map(one, shards)
        return
    pool = ThreadPoolExecutor(max_workers=min(threads, len(shards)), thread_name_prefix="instructlin-shard")
    try:
        futures = [pool.submit(one, shard) for shard in shards]
        for future in as_completed(futures):
            yield future.result()
    finally:  # interrupted: start no further shard; those running finish their atomic write
        pool.shutdown(wait=True, cancel_futures=True)
