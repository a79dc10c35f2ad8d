"""Overlap I/O with computing: the previous block is written, and the next one read, from threads;
and a block is mapped as two halves at once, so a core the I/O threads leave idle is used."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import numpy as np


def write_all(fh: Any, data: np.ndarray) -> None:
    """Write every byte of a C-contiguous array (raw files may write less than asked)."""
    view = memoryview(data).cast("B")
    while view:
        view = view[fh.write(view):]


class BufferWriter:
    """Writes blocks from a thread while the caller maps the next one; two output buffers take turns."""

    def __init__(self, fh: Any, shape: tuple[int, int],
                 allocate: Callable[[tuple[int, int]], np.ndarray] | None = None, threaded: bool = True) -> None:
        self._fh, self._error, self._threaded = fh, None, threaded
        self._free: queue.Queue = queue.Queue()
        self._todo: queue.Queue = queue.Queue()
        for _ in range(2):
            self._free.put(allocate(shape) if allocate else np.empty(shape, dtype=np.float32))
        self._thread = threading.Thread(target=self._run, name="instructlin-writer", daemon=True)
        if threaded:
            self._thread.start()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            if self._error is None:
                try:
                    write_all(self._fh, item[0][: item[1]])
                except BaseException as err:  # re-raised in the caller's thread
                    self._error = err
            self._free.put(item[0])

    def buffer(self) -> np.ndarray:
        """A free output buffer (waits while both are being written); raises the writer's error, if any."""
        buf = self._free.get()
        if self._error is not None:
            raise self._error
        return buf

    def submit(self, buf: np.ndarray, rows: int) -> None:
        if not self._threaded:
            write_all(self._fh, buf[:rows])
            self._free.put(buf)
            return
        self._todo.put((buf, rows))

    def finish(self, *, check: bool = True) -> None:
        """Wait for the queued writes (also after an error: the file is closed next); raise theirs if asked."""
        if not self._threaded:
            return
        self._todo.put(None)
        self._thread.join()
        if check and self._error is not None:
            raise self._error


class WriteBehind:
    """Runs one call at a time in a thread, one queued at most, so writing a block overlaps mapping the next."""

    def __init__(self) -> None:
        self._todo: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="instructlin-writer", daemon=True)

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            if self._error is None:
                try:
                    item[0](*item[1:])
                except BaseException as err:  # re-raised in the caller's thread
                    self._error = err

    def submit(self, call: Callable[..., object], *args: object) -> None:
        if self._error is not None:
            raise self._error
        self._todo.put((call, *args))

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def __exit__(self, kind, error, trace) -> None:
        self._todo.put(None)
        self._thread.join()
        if kind is None and self._error is not None:
            raise self._error


def read_ahead(items: Iterable[Any], depth: int = 1) -> Iterator[Any]:
    """``items``, produced by a thread up to ``depth`` ahead, so decoding the next Parquet batch overlaps
    mapping and writing this one. The producer's error is raised here; leaving early stops the producer."""
    todo: queue.Queue = queue.Queue(maxsize=depth)
    stop, done = threading.Event(), object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        todo.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            todo.put((done, None))
        except BaseException as err:  # handed to the consumer
            todo.put((done, err))

    thread = threading.Thread(target=produce, name="instructlin-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = todo.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        with suppress(queue.Empty):
            while True:
                todo.get_nowait()  # frees a producer blocked on a full queue
        thread.join()


class Halves:
    """Applies ``fn(x, out)`` to the two halves of a block at once, in this thread and a helper.

    With a reader, a mapper and a writer thread on two cores, the mapper is the slowest stage, so the
    reader and writer often wait on it and a core idles. Splitting the GEMM over two threads, each with
    one BLAS thread, fills that core without OpenBLAS's own idle threads, which spin instead of yielding
    (measured at 2,000,000 x 384 on 2 cores: the Parquet map 4-6 % faster). With ``split=False`` (a
    process held to one core, such as a Ray actor) the block is mapped whole, in this thread.
    """

    def __init__(self, split: bool = True) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="instructlin-map") if split else None

    def __call__(self, fn: Callable[[np.ndarray, np.ndarray], object], x: np.ndarray, out: np.ndarray) -> np.ndarray:
        half = len(x) // 2
        if not half or self._pool is None:
            fn(x, out)
            return out
        other = self._pool.submit(fn, x[half:], out[half:])
        try:
            fn(x[:half], out[:half])
        finally:
            other.result()  # waits for the helper (and raises its error) even when this half failed
        return out

    def __enter__(self) -> Halves:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
