"""Arrow's allocator for streaming Parquet: a process-wide choice made by the command, not the library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instructlin.cli import map as cli_map
from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import pyarrow as pa; from instructlin.io.arrow_memory import keep_freed_pages; "
         "print(keep_freed_pages(), pa.default_memory_pool().backend_name)")


def probe(**env: str) -> list[str]:
    """``keep_freed_pages()`` and the default pool's backend afterwards, in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                          cwd=ROOT, env={**clean, "PYTHONPATH": str(ROOT), **env})
    return done.stdout.split()


def test_jemalloc_keeping_freed_pages_becomes_arrows_default_pool():
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        assert probe() == ["False", pa.default_memory_pool().backend_name]  # nothing changed
        return
    assert probe() == ["True", "jemalloc"]


def test_a_pool_the_user_chose_is_left_alone():
    assert probe(ARROW_DEFAULT_MEMORY_POOL="system") == ["False", "system"]


@pytest.fixture()
def saved_map(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X + 1).save(tmp_path / "map")


@pytest.mark.parametrize("suffix", [".parquet", ".npy"])
def test_instructlin_map_sets_the_allocator_for_parquet_only(saved_map, tmp_path, monkeypatch, suffix):
    calls = []
    monkeypatch.setattr(cli_map, "keep_freed_pages", lambda: calls.append(1) or True)
    X = np.ones((10, 4), np.float32)
    source = tmp_path / f"in{suffix}"
    if suffix == ".npy":
        np.save(source, X)
    else:
        column = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), 4)
        pq.write_table(pa.table({"embedding": column}), source)
    args = ["map", "--map", str(saved_map), "--input", str(source), "--output", str(tmp_path / f"out{suffix}"),
            "--quiet"]
    assert main(args) == 0
    assert calls == ([1] if suffix == ".parquet" else [])
