"""Benchmark ``instructlin map`` (streaming.map_file): rows/s and peak memory on .npy and Parquet, by hand.

``python benchmarks/streaming_benchmark.py [--rows 200000] [--dim 1024] [--chunk-size 65536]``.
Writes a random float32 input (.npy, then the same as Parquet) into a temp folder that it deletes,
fits a ridge map on a small sample (speed does not depend on the values), and times each run in its own
subprocess, so peak RSS is that run's. Reference: the same GEMM on the same chunks with the input already
in memory. Prints a Markdown block and writes it between the streaming markers of benchmarks/RESULTS.md.
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

#: Each I/O speed-up of map_file (a Speedups field, or "jemalloc": Arrow's allocator, which only the
#: command sets) and the formats it serves.
TRICKS = {"direct_io": ("npy", "parquet"), "overlap": ("npy", "parquet"), "split_blas": ("parquet",),
          "arrow_buffers": ("parquet",), "jemalloc": ("parquet",)}


def tricks_of(fmt: str) -> tuple[str, ...]:
    return tuple(t for t, formats in TRICKS.items() if fmt in formats)


def plain(fmt: str) -> frozenset[str]:
    """The plain path each trick is timed against: none on, but Parquet keeps its Arrow-buffer lists
    (the per-row path is timed on its own, as plain against plain without them)."""
    return frozenset({"arrow_buffers"} & set(tricks_of(fmt)))


def config_name(fmt: str, on: frozenset[str]) -> str:
    return f"{fmt}:{'+'.join(sorted(on)) or 'none'}"


def configs() -> list[str]:
    """``gemm`` and, per format, every trick set timed: plain, plain +/- each trick, all, all minus each."""
    names = ["gemm"]
    for fmt in ("npy", "parquet"):
        every = frozenset(tricks_of(fmt))
        for on in (every, plain(fmt), *(plain(fmt) ^ {t} for t in every), *(every - {t} for t in every)):
            if config_name(fmt, on) not in names:
                names.append(config_name(fmt, on))
    return names


def child(kind: str, map_dir: str, source: str, target: str, chunk_size: int) -> dict:
    """One timed run in this (fresh) process: the in-memory GEMM reference or map_file with some tricks."""
    from instructlin.core.mapping import InstructionMap
    from instructlin.io.affine_blocks import BlockAffine
    from instructlin.io.arrow_memory import keep_freed_pages
    from instructlin.io.speedups import Speedups
    from instructlin.io.streaming import map_file

    on = set() if kind == "gemm" else set(kind.split(":")[1].split("+"))
    if "jemalloc" in on:
        keep_freed_pages()  # as `instructlin map` does for Parquet (a process-wide choice, so not map_file's)
    speed = Speedups(**{t: t in on for t in ("direct_io", "overlap", "split_blas", "arrow_buffers")})
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
            runs[name].append(run_child(name, map_dir, *sources[name.split(":")[0]], args.chunk_size))
    return runs


def rate(runs: dict[str, list[dict]], name: str) -> float:
    return statistics.median(r["rows"] / r["seconds"] for r in runs[name])


def markdown(args: argparse.Namespace, runs: dict[str, list[dict]], load: tuple[float, ...], wall: float) -> str:
    """The RESULTS.md block: command, machine, date, load, the main table and the per-trick table."""
    alls = {fmt: config_name(fmt, frozenset(tricks_of(fmt))) for fmt in ("npy", "parquet")}
    labels = {"gemm": "in-memory GEMM, same chunks (reference)", alls["npy"]: "map_file .npy -> .npy",
              alls["parquet"]: "map_file Parquet -> Parquet"}
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
    """Per format and trick: rows/s on the plain path with and without it, and in the full set without it."""
    lines = ["| format | trick | alone: rows/s plain -> with | alone: ratio | all on: rows/s without -> with | "
             "all on: ratio | 1-min load (median of its runs) |", "|---|---|---|---|---|---|---|"]
    for fmt in ("npy", "parquet"):
        every, base = frozenset(tricks_of(fmt)), plain(fmt)
        for trick in tricks_of(fmt):
            off, on = (base - {trick}, base) if trick in base else (base, base | {trick})
            pairs = [(config_name(fmt, off), config_name(fmt, on)),
                     (config_name(fmt, every - {trick}), config_name(fmt, every))]
            if not all(name in runs for pair in pairs for name in pair):
                continue
            cells = [f"{rate(runs, a):,.0f} -> {rate(runs, b):,.0f} | {rate(runs, b) / rate(runs, a):.2f}x"
                     for a, b in pairs]
            loads = [r["load"] for pair in pairs for name in pair for r in runs[name]]
            lines.append(f"| {fmt} | {trick} | {' | '.join(cells)} | {statistics.median(loads):.1f} |")
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
    parser.add_argument("--configs", nargs="*", help="only these configs (e.g. gemm npy:none), for a re-run")
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
