"""The speed-up of a new instruction as a benchmark recorded it in a pack's manifest.

A speed-up clocked live moves with the machine's load (Home's live figure ranged 3.7x-4.8x next to other
work); the recorded one is measured on an idle machine by ``benchmarks/teacher_benchmark.py --record-pack``
and can be measured again by anyone with the teacher. Its parts are stored, and the totals are computed
from them, so the figure shown always agrees with its parts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from instructlin.atomic import atomic_write

#: The manifest key of the record.
KEY = "recorded_speedup"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RecordedSpeedup:
    """A new instruction's costs on one corpus: the teacher's pass over ``train_texts`` + fit + map of the
    rest, against re-encoding all ``n_texts``."""

    train_texts: int
    n_texts: int
    teacher_seconds_per_text: float
    fit_seconds: float  # median over repeats, selection (CV) included
    map_seconds: float  # median over repeats, the other n_texts - train_texts rows
    split: str  # which texts were the train part, e.g. "20 %, stratified by topic and location, seed 42"
    measured: str  # the command, the date and the machine

    @property
    def reencode_seconds(self) -> float:
        return self.teacher_seconds_per_text * self.n_texts

    @property
    def instructlin_seconds(self) -> float:
        return self.teacher_seconds_per_text * self.train_texts + self.fit_seconds + self.map_seconds

    @property
    def speedup(self) -> float:
        return self.reencode_seconds / self.instructlin_seconds


def read_recorded_speedup(folder: str | Path) -> RecordedSpeedup | None:
    """The record in ``folder``'s manifest, or None where there is none or it is malformed (then the app
    shows the live clock only)."""
    try:
        entry = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8")).get(KEY)
        record = RecordedSpeedup(**entry)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    numbers = (record.train_texts, record.n_texts, record.teacher_seconds_per_text, record.fit_seconds,
               record.map_seconds)
    if not all(isinstance(x, (int, float)) and x > 0 for x in numbers) or record.train_texts >= record.n_texts:
        return None
    return record


def write_recorded_speedup(folder: str | Path, record: RecordedSpeedup) -> None:
    """Store ``record`` in ``folder``'s manifest (atomically), with the teacher's encode time it measured."""
    path = Path(folder) / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[KEY] = asdict(record)
    manifest["encode_seconds_per_text"] = round(record.teacher_seconds_per_text, 4)
    manifest["encode_timing"] = f"measured with the recorded speed-up: {record.measured}"
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
