"""The benchmarks rewrite only their own marked block of benchmarks/RESULTS.md."""

from __future__ import annotations

import importlib.util

from tests.map_files import ROOT


def test_run_benchmark_keeps_every_marked_block(tmp_path):
    spec = importlib.util.spec_from_file_location("run_benchmark", ROOT / "benchmarks" / "run_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = tmp_path / "RESULTS.md"
    results.write_text("# old tables\n\n<!-- teacher:start -->\nT\n<!-- teacher:end -->\n\nmiddle\n\n"
                       "<!-- streaming:start -->\nS\n<!-- streaming:end -->\n")
    kept = module.kept_teacher_block(results)
    assert "<!-- teacher:start -->\nT\n<!-- teacher:end -->" in kept
    assert "<!-- streaming:start -->\nS\n<!-- streaming:end -->" in kept
    assert "old tables" not in kept and "middle" not in kept
