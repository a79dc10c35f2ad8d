"""Ray Data as the engine of a sharded run: an actor pool of workers, one shard per call.

The dataset is the list of pending shards, one block per shard, so Ray hands shards to actors as they
free up. ``map_batches`` gets the worker class (:class:`instructlin.shards.runs.ShardMapper` or
:class:`instructlin.shards.embed.ShardEmbedder`), so each actor loads its map or encoder once. Each
worker reads its shard and writes its output itself, block by block: rows never pass through the object
store or the driver, worker memory is bounded by its batch, and on a cluster the input and output
folders must be on storage every node mounts. The driver only collects the outcomes and keeps the
manifest. Nothing here is imported unless ``--engine ray`` is asked for.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from instructlin.errors import DataError, one_line
from instructlin.extras import require
from instructlin.shards.workers import ShardOutcome

#: Ray's own loggers, silenced while a run lasts: the CLI prints one line per shard instead.
_RAY_LOGGERS = ("ray", "ray.data", "ray.data._internal.execution.streaming_executor")


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A DataError within ``timeout`` s where nothing answers at ``address`` (``HOST:PORT`` or
    ``ray://HOST:PORT``), instead of Ray's own retries, which last minutes. ``auto`` is left to Ray."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise DataError(f"--address {address!r} is not HOST:PORT; give ray://HEAD:10001 (Ray Client) or "
                        "HEAD:6379 (from a node of the cluster).")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise DataError(f"Nothing answers at --address {address} ({err.strerror or err}); check the head "
                        "node's address and port, or drop --address for a local Ray.") from None


@contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """A connected Ray: the one already running in this process, else the cluster at ``address``, else a
    local one on every CPU. A Ray started here is shut down on the way out."""
    ray = require("ray", purpose="--engine ray")
    require("ray.data", purpose="--engine ray")
    levels = {name: logging.getLogger(name).level for name in _RAY_LOGGERS}
    for name in _RAY_LOGGERS:  # failures reach the user as instructlin's one line, not as Ray's tracebacks
        logging.getLogger(name).setLevel(logging.CRITICAL)
    started = False
    try:
        if not ray.is_initialized():
            if address:
                check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise DataError(f"Could not start or reach {where}: {one_line(err)}. Check "
                                "--address (ray://HOST:10001 or HOST:6379), or drop it for a local run.") from None
            started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        yield ray
    finally:
        if started:
            ray.shutdown()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) reached the driver of a Ray run: unwinds it so Ray shuts down and the lock goes."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`RunInterrupted` while the body runs (main thread only), instead of
    Ray's own handler, which prints a stack dump and aborts (exit 134) with the actors still writing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def default_concurrency(ray: Any, pending: int, *, gpus_per_worker: float = 0) -> int:
    """One worker per CPU (or per GPU, for GPU workers) that Ray sees, and never more than the shards."""
    resources = ray.cluster_resources()
    slots = resources.get("GPU", 0) / gpus_per_worker if gpus_per_worker else resources.get("CPU", 1)
    return max(1, min(pending, int(slots)))


def run_on_ray(
    worker_class: type,
    worker_kwargs: dict[str, Any],
    shards: Sequence[Path],
    *,
    address: str | None = None,
    concurrency: int | None = None,
    gpus_per_worker: float | None = 0,
) -> Iterator[ShardOutcome]:
    """Outcomes of ``worker_class(**worker_kwargs)`` on every shard, over a Ray Data actor pool, as they finish.

    ``concurrency`` is the number of actors (default :func:`default_concurrency`); each takes one CPU and
    ``gpus_per_worker`` GPUs (None: one where the cluster has GPUs, else none). Shards are handed out one
    at a time, so a slow shard does not hold up others.
    """
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                    or concurrency < 1):
        raise DataError(f"--concurrency must be a whole number of workers, 1 or more; got {concurrency!r}.")
    with ray_session(address) as ray:
        if gpus_per_worker is None:
            gpus_per_worker = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        size = min(concurrency, len(shards)) if concurrency else \
            default_concurrency(ray, len(shards), gpus_per_worker=gpus_per_worker)
        items = [{"shard": str(Path(s).resolve())} for s in shards]
        worker_kwargs = {**worker_kwargs, "driver": (socket.gethostname(), os.getpid())}  # orphans stop
        with warnings.catch_warnings():
            # max_restarts=0: Ray Data would otherwise restart a dead actor and retry its shard forever, so a
            # shard that kills its worker (out of memory) would never end the run. A lost worker fails the run
            # instead, and the manifest keeps the finished shards for the rerun. Ray plans to drop this
            # argument in 2.64 (hence the pin in the `ray` extra).
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                worker_class,
                fn_constructor_kwargs=worker_kwargs,
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=size),
                num_cpus=1,
                num_gpus=gpus_per_worker or None,
                max_restarts=0,
            )
        try:
            with interruptible():
                for row in dataset.iter_rows():
                    yield ShardOutcome.from_row(row)
        except ray.exceptions.RayError as err:  # a worker could not start (e.g. its map or encoder failed)
            cause = getattr(err, "cause", None) or err
            raise DataError(f"A Ray worker failed: {one_line(cause)[:400]}") from None
