"""The recorded speed-up in a pack's manifest: written atomically, read back, totals from its parts."""

from __future__ import annotations

import json
import shutil

import pytest

from instructlin.pipeline.recorded_costs import KEY, RecordedSpeedup, read_recorded_speedup, write_recorded_speedup
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack

if not (DEMO_PACK_DIR / MANIFEST).exists():
    pytest.skip(f"no embedding pack at {DEMO_PACK_DIR}", allow_module_level=True)

RECORD = RecordedSpeedup(train_texts=58, n_texts=288, teacher_seconds_per_text=0.4, fit_seconds=0.6,
                         map_seconds=0.002, split="20 %, seed 42", measured="by hand")


@pytest.fixture
def pack(tmp_path):
    return shutil.copytree(DEMO_PACK_DIR, tmp_path / "pack")


def test_the_totals_come_from_the_parts():
    assert RECORD.reencode_seconds == pytest.approx(0.4 * 288)
    assert RECORD.instructlin_seconds == pytest.approx(0.4 * 58 + 0.6 + 0.002)
    assert RECORD.speedup == pytest.approx(115.2 / 23.802)


def test_a_record_round_trips_and_the_pack_still_reads(pack):
    write_recorded_speedup(pack, RECORD)
    assert read_recorded_speedup(pack) == RECORD
    loaded = read_pack(pack)  # the arrays' checksums are untouched
    assert loaded.seconds_per_text == pytest.approx(0.4)
    assert loaded.load(None).shape == (288, 768)
    assert not list(pack.glob("*.tmp*"))


@pytest.mark.parametrize("bad", [None, "text", {"train_texts": 58}, {**RECORD.__dict__, "fit_seconds": -1.0},
                                 {**RECORD.__dict__, "train_texts": 288}])
def test_a_missing_or_malformed_record_reads_as_none(pack, bad):
    manifest = json.loads((pack / MANIFEST).read_text(encoding="utf-8"))
    manifest[KEY] = bad
    (pack / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert read_recorded_speedup(pack) is None
