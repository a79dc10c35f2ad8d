"""Benchmark ``instructlin map`` (streaming.map_file): rows/s and peak memory on .npy and Parquet, by hand.

``python benchmarks/streaming_benchmark.py [--rows 200000] [--dim 1024] [--chunk-size 65536]``.
Writes a random float32 input (.npy, then the same as Parquet) into a temp folder that it deletes,
fits a ridge map on a small sample (speed does not depend on the values), and times each run in its own
subprocess, so peak RSS is that run's. Reference: the same GEMM on the same chunks with the input already
in memory. Each speed-up map_file keeps is also timed switched off (its ``Speedups`` field), the rest on,
in the same interleaved runs. Prints a Markdown block and writes it between the streaming markers of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
START, END = "<!-- streaming:start -->", "<!-- streaming:end -->"

from instructlin.timing import peak_rss_mb  # noqa: E402  (VmHWM: a child's own peak)

#: Each I/O speed-up map_file keeps (a Speedups field) and the format it serves. The ones timed and
#: deleted are listed in RESULTS.md with their ratios.
TRICKS = {"direct_io": "npy", "arrow_buffers": "parquet"}


def config_name(fmt: str, off: str | None = None) -> str:
    """``fmt`` with every speed-up on, or with ``off`` switched off: ``npy``, ``npy-direct_io``."""
    return fmt if off is None else f"{fmt}-{off}"


def configs() -> list[str]:
    """The GEMM reference, each format with everything on, and each format with each speed-up off."""
    return ["gemm", "npy", "parquet", *(config_name(fmt, trick) for trick, fmt in TRICKS.items())]


def child(kind: str, map_dir: str, source: str, target: str, chunk_size: int) -> dict:
    """One timed run in this (fresh) process: the in-memory GEMM reference or map_file, a speed-up off."""
    from instructlin.core.mapping import InstructionMap
    from instructlin.io.affine_blocks import BlockAffine
    from instructlin.io.speedups import Speedups
    from instructlin.io.streaming import map_file

    speed = Speedups(**{kind.split("-")[1]: False}) if "-" in kind else Speedups()
    model = InstructionMap.load(map_dir)
    baseline, load = peak_rss_mb(), os.getloadavg()[0]
    if kind == "gemm":
        data = np.load(source)
        W = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        b = np.asarray(model.intercept_, dtype=np.float32)
        rows_per_block = BlockAffine(model).block_rows(chunk_size, len(data))  # the blocks map_file uses
        out = np.empty((rows_per_block, W.shape[1]), dtype=np.float32)
        start = time.perf_counter()
        for i in range(0, len(data), rows_per_block):
            block = data[i : i + rows_per_block]
            np.matmul(block, W, out=out[: len(block)])
            out[: len(block)] += b
        seconds, rows = time.perf_counter() - start, len(data)
    else:
        start = time.perf_counter()
        rows = map_file(model, source, target, chunk_size=chunk_size, speed=speed)
        seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline,
            "load": load}


def write_inputs(folder: Path, rows: int, dim: int, chunk_size: int) -> tuple[Path, Path]:
    """A random (rows, dim) float32 .npy and the same vectors as a Parquet list<float> column, chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    npy, parquet = folder / "in.npy", folder / "in.parquet"
    schema = pa.schema([("id", pa.int64()), ("embedding", pa.list_(pa.float32()))])
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, dim)}
    with open(npy, "wb") as fh, pq.ParquetWriter(parquet, schema, use_dictionary=["id"]) as writer:
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, rows, chunk_size):
            block = rng.standard_normal((min(chunk_size, rows - start), dim), dtype=np.float32)
            fh.write(block.tobytes())
            offsets = pa.array(np.arange(0, (len(block) + 1) * dim, dim, dtype=np.int32))
            vectors = pa.ListArray.from_arrays(offsets, pa.array(block.reshape(-1)))
            ids = pa.array(np.arange(start, start + len(block)))
            writer.write_batch(pa.RecordBatch.from_arrays([ids, vectors], schema=schema))
    return npy, parquet


def fit_map(folder: Path, dim: int) -> Path:
    """A ridge map fitted on 512 random pairs: mapping speed does not depend on the weights."""
    from instructlin.core.mapping import InstructionMap

    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, dim), dtype=np.float32)
    Y = X @ (np.eye(dim, dtype=np.float32) + 0.05 * rng.standard_normal((dim, dim), dtype=np.float32))
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, Y).save(folder / "map")


def run_child(kind: str, map_dir: Path, source: Path, target: Path, chunk_size: int) -> dict:
    """Run :func:`child` in a fresh interpreter and return its JSON record."""
    command = [sys.executable, __file__, "--child", kind, "--map", str(map_dir), "--input", str(source),
               "--output", str(target), "--chunk-size", str(chunk_size)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace, folder: Path) -> dict[str, list[dict]]:
    """Median-able records: ``args.repeats`` runs of each config, interleaved so load drifts hit all alike."""
    npy, parquet = write_inputs(folder, args.rows, args.dim, args.chunk_size)
    map_dir = fit_map(folder, args.dim)
    sources = {"gemm": (npy, folder / "unused.npy"), "npy": (npy, folder / "out.npy"),
               "parquet": (parquet, folder / "out.parquet")}
    names = args.configs or configs()
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.repeats):
        for name in names:
            if hasattr(os, "sync"):
                os.sync()  # the previous run's output goes to disk now, not during this run's clock
            runs[name].append(run_child(name, map_dir, *sources[name.split("-")[0]], args.chunk_size))
    return runs


def rate(runs: dict[str, list[dict]], name: str) -> float:
    return statistics.median(r["rows"] / r["seconds"] for r in runs[name])


def markdown(args: argparse.Namespace, runs: dict[str, list[dict]], load: tuple[float, ...], wall: float) -> str:
    """The RESULTS.md block: command, machine, date, load, the main table and the per-trick table."""
    alls = {"npy": "npy", "parquet": "parquet"}
    labels = {"gemm": "in-memory GEMM, same chunks (reference)", "npy": "map_file .npy -> .npy",
              "parquet": "map_file Parquet -> Parquet"}
    gemm = rate(runs, "gemm")
    rows = [f"| {label} | {rate(runs, name):,.0f} | {rate(runs, name) / gemm:.0%} | "
            f"{statistics.median(r['peak_rss_mb'] for r in runs[name]):,.0f} | "
            f"{statistics.median(r['baseline_rss_mb'] for r in runs[name]):,.0f} |" for name, label in labels.items()]
    size_mb = args.rows * args.dim * 4 / 2**20
    ratio = rate(runs, alls["parquet"]) / rate(runs, alls["npy"])
    return "\n".join([
        START, "", "## Streaming map (`instructlin map`, instructlin.io.streaming.map_file)", "",
        f"- command: `python benchmarks/streaming_benchmark.py --rows {args.rows} --dim {args.dim} "
        f"--chunk-size {args.chunk_size} --repeats {args.repeats}`",
        machine_line(load, " (the runs' own load)"),
        f"- date: {datetime.date.today().isoformat()}; wall time {wall:.0f} s",
        f"- input: {args.rows:,} x {args.dim} float32 ({size_mb:,.0f} MB), freshly written (so in the page cache); "
        "outputs go to the local disk after an os.sync(); Parquet: list<float> column plus an int64 id, snappy. "
        f"Each run in its own subprocess, configs interleaved; medians of {args.repeats}. "
        f"Parquet / .npy rate: {ratio:.0%}.",
        "", "| run | rows/s | vs GEMM | peak RSS, MB | RSS before mapping, MB |", "|---|---|---|---|---|",
        *rows, "", targets(runs, alls), "", *trick_table(runs), "", END])


def trick_table(runs: dict[str, list[dict]]) -> list[str]:
    """Per kept speed-up: rows/s of its format with it off and on (the rest on), the ratio, the load."""
    lines = ["| format | speed-up | rows/s off -> on (medians) | on / off | per repeat | 1-min load (median) |",
             "|---|---|---|---|---|---|"]
    for trick, fmt in TRICKS.items():
        off = config_name(fmt, trick)
        if off not in runs or fmt not in runs:
            continue
        each = ", ".join(f"{(a['rows'] / a['seconds']) / (b['rows'] / b['seconds']):.2f}"
                         for a, b in zip(runs[fmt], runs[off], strict=True))
        load = statistics.median(r["load"] for r in runs[fmt] + runs[off])
        lines.append(f"| {fmt} | {trick} | {rate(runs, off):,.0f} -> {rate(runs, fmt):,.0f} | "
                     f"{rate(runs, fmt) / rate(runs, off):.2f}x | {each} | {load:.1f} |")
    return lines


def machine_line(load: tuple[float, float], end_note: str = "") -> str:
    """The RESULTS.md line naming the machine and its load before and after the runs (busy above half the cores)."""
    cores = os.cpu_count()
    busy = " (other processes were competing for the CPU)" if load[0] > 0.5 * (cores or 1) else ""
    return (f"- machine: {platform.platform()}, {cores} CPU cores, numpy {np.__version__}; load average "
            f"{load[0]:.1f} before the runs{busy}, {load[1]:.1f} at the end{end_note}")


def targets(runs: dict[str, list[dict]], alls: dict[str, str]) -> str:
    """One line: each goal of the streaming map, its measured value, met or not."""
    npy, parquet = rate(runs, alls["npy"]), rate(runs, alls["parquet"])
    peak = max(statistics.median(r["peak_rss_mb"] for r in runs[name]) for name in alls.values())
    goals = [(".npy at least 70 % of the GEMM rate", npy / rate(runs, "gemm"), 0.70),
             ("Parquet at least 50 % of the .npy rate", parquet / npy, 0.50)]
    parts = [f"{name}: {value:.0%} ({'met' if value >= goal else 'NOT met'})" for name, value, goal in goals]
    parts.append(f"peak RSS under 1 GB: {peak:,.0f} MB ({'met' if peak < 1024 else 'NOT met'})")
    return "Goals: " + "; ".join(parts) + "."


def write_block(path: Path, block: str, *, start: str = START, end: str = END) -> None:
    """Replace the block between ``start`` and ``end`` of ``path`` (or append it), leaving the rest as it was."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


def add_run_arguments(parser: argparse.ArgumentParser, kinds: tuple[str, ...]) -> None:
    """The flags every subprocess-per-run benchmark shares: repeats, temp folder, output, and the hidden
    ``--child KIND --map --input`` with which it re-runs itself for one timed run."""
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp-dir", default=None, help="where the temporary inputs go (default: system temp)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--no-write", action="store_true", help="print the block only")
    parser.add_argument("--child", choices=kinds if kinds else None, help=argparse.SUPPRESS)
    parser.add_argument("--map", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--chunk-size", type=int, default=65536)
    parser.add_argument("--json", help="also write every run's record here")
    parser.add_argument("--configs", nargs="*", help="only these configs (e.g. npy npy-direct_io), for a re-run")
    add_run_arguments(parser, ())
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.map, args.input, args.output, args.chunk_size)))
        return
    start, load = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="instructlin-bench-") as folder:
        runs = measure(args, Path(folder))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
    block = markdown(args, runs, (load[0], os.getloadavg()[0]), time.perf_counter() - start)
    if not args.no_write:
        write_block(Path(args.output), block)
    print(block)


if __name__ == "__main__":
    main()
