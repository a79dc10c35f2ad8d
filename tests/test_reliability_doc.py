"""docs/reliability.md is generated from the tests' Case lists and must match them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reliability_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("reliability_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reliability_table_is_generated_from_the_current_cases():
    script = _script()
    rows = script.collect()
    assert len(rows) >= 30
    assert script.DOC.read_text(encoding="utf-8") == script.render(rows), (
        "docs/reliability.md is stale: run python scripts/reliability_table.py")
