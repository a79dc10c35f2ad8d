"""Shared helpers of the streaming-map tests: a small saved map, its exact output, CLI runs, Parquet inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap

ROOT = Path(__file__).resolve().parents[1]
D = 8


def small_map(folder: Path, d: int = D) -> Path:
    """A ridge map of ``d`` dimensions with a bias, saved into ``folder / "map"``."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, d)).astype(np.float32)
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X @ rng.normal(size=(d, d)) + 0.5).save(
        folder / "map")


def expected(model: InstructionMap, X: np.ndarray) -> np.ndarray:
    """What the map gives for ``X`` in float32, computed here without the streaming code."""
    X = np.asarray(X, dtype=np.float32)
    return X @ np.asarray(model.coef_, dtype=np.float32).T + np.asarray(model.intercept_, dtype=np.float32)


def run_main(args: list[str]) -> int:
    """``instructlin`` in this process: its exit code, whether returned or raised by argparse."""
    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def hidden(folder: Path) -> list[str]:
    """Hidden entries (temp files of any naming) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def parquet_of(path: Path, vectors, kind=None, **extra) -> Path:
    """A Parquet file with a string ``id`` column, an ``embedding`` list column of ``kind`` and ``extra``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = kind or pa.list_(pa.float32())
    columns = {"id": pa.array([f"row-{i}" for i in range(len(vectors))], pa.string()),
               "embedding": pa.array(list(vectors) if len(vectors) else [], type=kind), **extra}
    pq.write_table(pa.table(columns), path)
    return path


def parquet_vectors(path: Path) -> np.ndarray:
    """The ``embedding`` column of a Parquet file as a (rows, d) array."""
    import pyarrow.parquet as pq

    return np.stack(pq.read_table(path).column("embedding").to_numpy(zero_copy_only=False))
