"""Benchmark how the default fit grows with the number of pairs: time, label-free CV and peak memory.

``python benchmarks/fit_scaling_benchmark.py [--pairs 2000 20000 200000] [--dim 384]``.
Writes synthetic base / instructed pairs (a low-rank instruction effect plus noise, unit rows) as
float32 ``.npy`` files into a temp folder that it deletes, then fits ``InstructionMap()`` (method
``auto``, CV included) on each size in its own subprocess, so peak RSS is that fit's. Prints a
Markdown block and writes it between the fit-scaling markers of benchmarks/RESULTS.md.
Goal (issue 20): 200,000 x 384 pairs in under 2 minutes and 2 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
START, END = "<!-- fit-scaling:start -->", "<!-- fit-scaling:end -->"
GOAL_SECONDS, GOAL_MB, GOAL_PAIRS = 120.0, 2048.0, 200_000

from instructlin.timing import peak_rss_mb  # noqa: E402


def child(base: str, instructed: str) -> dict:
    """Load the pairs, then fit the default map once, timing the label-free CV apart (fresh process)."""
    import instructlin.core.closed_form as closed_form
    from instructlin.core.mapping import InstructionMap

    X, Y = np.load(base), np.load(instructed)
    loaded_mb = peak_rss_mb("VmRSS")
    cv_seconds = []
    cross_validate = closed_form.cross_validate

    def timed_cv(*args, **kwargs):  # the benchmark's own clock around the library's CV
        start = time.perf_counter()
        try:
            return cross_validate(*args, **kwargs)
        finally:
            cv_seconds.append(time.perf_counter() - start)

    closed_form.cross_validate = timed_cv
    start = time.perf_counter()
    model = InstructionMap().fit(X, Y)
    seconds = time.perf_counter() - start
    return {"pairs": len(X), "seconds": seconds, "cv_seconds": sum(cv_seconds), "peak_rss_mb": peak_rss_mb(),
            "loaded_rss_mb": loaded_mb, "map": model.describe()}


def write_pairs(folder: Path, n: int, dim: int, *, block: int = 50_000) -> tuple[Path, Path]:
    """Unit-length base rows and instructed rows = base moved along 16 directions plus noise, written block by block."""
    rng = np.random.default_rng(0)
    effect = rng.standard_normal((16, dim)).astype(np.float32)
    mix = (0.5 * rng.standard_normal((dim, 16))).astype(np.float32)
    paths = folder / f"base-{n}.npy", folder / f"instructed-{n}.npy"
    arrays = [np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(n, dim)) for p in paths]
    for start in range(0, n, block):
        x = rng.standard_normal((min(block, n - start), dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y = x + (x @ mix) @ effect / np.sqrt(dim) + 0.02 * rng.standard_normal(x.shape, dtype=np.float32)
        arrays[0][start : start + len(x)] = x
        arrays[1][start : start + len(x)] = y / np.linalg.norm(y, axis=1, keepdims=True)
    for array in arrays:
        array.flush()
    return paths


def run_child(base: Path, instructed: Path) -> dict:
    command = [sys.executable, __file__, "--child", str(base), str(instructed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(args: argparse.Namespace, runs: list[dict], load: tuple[float, float], wall: float) -> str:
    """The RESULTS.md block: command, machine, date, load, the table and the goal."""
    rows = [f"| {r['pairs']:,} x {args.dim} | {r['seconds']:.1f} | {r['cv_seconds']:.1f} | "
            f"{r['seconds'] - r['cv_seconds']:.1f} | {r['peak_rss_mb']:,.0f} | {r['loaded_rss_mb']:,.0f} | "
            f"`{r['map']}` |" for r in runs]
    goal = next((r for r in runs if r["pairs"] == GOAL_PAIRS), None)
    verdict = "not measured" if goal is None else (
        f"{goal['seconds']:.0f} s and {goal['peak_rss_mb']:,.0f} MB: "
        f"{'met' if goal['seconds'] < GOAL_SECONDS and goal['peak_rss_mb'] < GOAL_MB else 'NOT met'}")
    from streaming_benchmark import machine_line

    return "\n".join([
        START, "", "## Fit time and memory against the number of pairs (default map, CPU)", "",
        f"- command: `python benchmarks/fit_scaling_benchmark.py --pairs {' '.join(map(str, args.pairs))} "
        f"--dim {args.dim}`",
        machine_line(load),
        f"- date: {datetime.date.today().isoformat()}; wall time {wall:.0f} s",
        "- data: synthetic float32 pairs from .npy files (unit base rows; instructed = base moved along 16 "
        "directions plus noise); `InstructionMap().fit(X, Y)`, one fit per size, each in its own subprocess. "
        "CV scores a seeded sample of at most 2,000 pairs, the final solve reads all rows in blocks.",
        "", "| pairs | fit s | of which CV s (at most 2,000 pairs) | the rest: basis and solve on every pair, s | "
        "peak RSS, MB | RSS with the pairs loaded, MB | map chosen |", "|---|---|---|---|---|---|---|", *rows, "",
        f"Goal: {GOAL_PAIRS:,} x {args.dim} in under {GOAL_SECONDS:.0f} s and {GOAL_MB:,.0f} MB peak RSS: {verdict}.",
        "", END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[2_000, 20_000, 200_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--tmp-dir", default=None)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-write", action="store_true", help="print the block only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from streaming_benchmark import write_block

    start, load = time.perf_counter(), os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="instructlin-fit-") as folder:
        for n in args.pairs:
            runs.append(run_child(*write_pairs(Path(folder), n, args.dim)))
            print(json.dumps(runs[-1]), flush=True)
    block = markdown(args, runs, (load[0], os.getloadavg()[0]), time.perf_counter() - start)
    if not args.no_write:
        write_block(Path(args.output), block, start=START, end=END)
    print(block)


if __name__ == "__main__":
    main()
