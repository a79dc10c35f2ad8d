"""A map fit on a background thread, so the page can draw each epoch and a Stop button can end it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from instructlin.core.sgd import EpochRecord, validation_size

#: The curve names ``figures.training_curves`` gives the validation slice, and what they are renamed to.
_VALIDATION_NAMES = {"held-out loss": "validation loss", "held-out cosine": "validation cosine",
                     "held-out cosine to instructed": "validation cosine to instructed"}


def validation_label(n_train: int, fraction: float = 0.1) -> str:
    """What the SGD curves are scored on: "validation (6 rows)", or the training rows when too few to hold out."""
    n_val = validation_size(n_train, fraction)
    return f"validation ({n_val} row{'s' if n_val != 1 else ''})" if n_val else f"training rows ({n_train})"


def name_validation_curves(fig: Any, n_train: int, fraction: float = 0.1) -> Any:
    """Rename the curves scored on SGD's early-stopping slice for what they are ("validation (6 rows)"), so
    they are not read as the held-out test part the page's metrics score."""
    rows = validation_label(n_train, fraction).split(" ", 1)[1]
    fig.for_each_trace(lambda t: t.update(name=f"{_VALIDATION_NAMES[t.name]} {rows}")
                       if t.name in _VALIDATION_NAMES else None)
    fig.for_each_annotation(lambda a: a.update(text=f"{_VALIDATION_NAMES[a.text]} {rows}")
                            if a.text in _VALIDATION_NAMES else None)
    return fig


class TrainingJob:
    """Runs ``fit(callback)`` on a thread; the callback records epochs and returns False after stop()."""

    def __init__(self, key: Any, fit: Callable[[Callable[[EpochRecord], bool]], Any], *, pace_s: float = 0.0) -> None:
        self.key = key
        self.pace_s = max(0.0, float(pace_s))  # a pause after each epoch, so a class can watch the curves move
        self.paused_s = 0.0
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
        if self.pace_s:
            self.paused_s += self.pace_s
            self._stop.wait(self.pace_s)  # a Stop click ends the pause at once
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
