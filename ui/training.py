"""A map fit on a background thread, so the page can draw each epoch and a Stop button can end it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from instructlin.sgd import EpochRecord


class TrainingJob:
    """Runs ``fit(callback)`` on a thread; the callback records epochs and returns False after stop()."""

    def __init__(self, key: Any, fit: Callable[[Callable[[EpochRecord], bool]], Any]) -> None:
        self.key = key
        self.records: list[dict[str, float]] = []
        self.result: Any = None
        self.error: BaseException | None = None
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(fit,), daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def _callback(self, record: EpochRecord) -> bool:
        self.records.append(record.to_dict())
        return not self._stop.is_set()

    def _main(self, fit: Callable[[Callable[[EpochRecord], bool]], Any]) -> None:
        try:
            self.result = fit(self._callback)
        except Exception as err:  # reported by the page that owns the job
            self.error = err

    def stop(self) -> None:
        self.stopped = True
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
