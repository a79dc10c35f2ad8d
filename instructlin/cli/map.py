"""``instructlin map``: one file streamed block by block, or a folder (or glob) of shards, resumable."""

from __future__ import annotations

import argparse
import contextlib
import glob
import signal
import sys
from pathlib import Path

from instructlin.errors import DataError
from instructlin.io.npy_files import input_encoder
from instructlin.shards.workers import Engine


def declared_encoder(flag: str | None, *paths: str | Path) -> str | None:
    """The encoder of some embeddings files: ``--encoder-id`` or their sidecars, refusing a conflict."""
    named = {p: input_encoder(str(p)) for p in paths}
    found = {e for e in named.values() if e} | ({flag} if flag else set())
    if len(found) > 1:
        raise DataError(f"The inputs name different encoders {sorted(found)}; "
                        "base and instructed embeddings must come from one encoder.")
    return found.pop() if found else None


def is_shard_source(text: str) -> bool:
    """Whether ``--input`` names shards (a folder, or a glob pattern) rather than one file."""
    return Path(text).is_dir() or glob.has_magic(text)


def shard_progress(quiet: bool):
    """The progress hook of a sharded run: one line per shard (written, skipped or failed), or nothing."""

    def progress(name: str, done: int, total: int, status: str) -> None:
        if not quiet:
            print(f"shard {done}/{total}: {name} {status}", flush=True)

    return progress


def shard_summary(report, verb: str, unit: str, output: str) -> str:
    """The closing line of a sharded run, e.g. ``mapped 288 rows in 3 shards to out/; 1 already complete``."""
    skipped = f"; {len(report.skipped)} already complete, skipped" if report.skipped else ""
    return f"{verb} {report.rows} {unit} in {len(report.mapped)} shards to {output}{skipped}"


def cmd_map(args: argparse.Namespace) -> None:
    from instructlin.core.mapping import InstructionMap
    from instructlin.shards.runs import check_engine

    check_engine(args.engine, args.address)
    sharded = is_shard_source(args.input)
    if not sharded:
        from instructlin.io.streaming import check_not_input

        check_not_input(args.input, args.output)  # before any work: the output would replace the input
    model = InstructionMap.load(args.map_path)
    if sharded:
        _map_shards(args, model)
        return
    if args.engine != Engine.LOCAL:
        raise DataError(f"--engine {args.engine} maps a folder (or glob) of shards; --input {args.input} is one "
                        "file. Drop --engine, or split the file into shards.")
    from instructlin.io.streaming import map_file

    model.check_compatible(encoder_id=declared_encoder(args.encoder_id, args.input))
    bars = {}

    def progress(done: int, total: int) -> None:  # the bar appears once rows flow, not before a refusal
        if args.quiet:
            return
        if "map" not in bars:
            from instructlin.extras import progress_bar as tqdm

            bars["map"] = tqdm(total=total, unit="row", desc="map")
        bars["map"].n = done
        bars["map"].refresh()

    try:
        n = map_file(model, args.input, args.output, column=args.column, chunk_size=args.chunk_size,
                     progress=progress)
    finally:
        if "map" in bars:
            bars["map"].close()
    print(f"mapped {n} rows to {args.output}")


def blas_threads_for(engine: str) -> contextlib.AbstractContextManager:
    """What the command changes in its process, and the library never does: on the local engine, where shards
    run in threads of their own (one per CPU), each GEMM gets one BLAS thread, so the two kinds of thread do
    not fight over the cores (benchmarks/RESULTS.md, sharded map). Ray's workers are other processes."""
    if engine != Engine.LOCAL:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _map_shards(args: argparse.Namespace, model) -> None:
    """Every shard to a same-named file in the ``--output`` folder; finished shards are skipped on a rerun."""
    from instructlin.shards.runs import list_shards, map_shards

    model.check_compatible(encoder_id=declared_encoder(args.encoder_id, *list_shards(args.input)))

    try:
        with blas_threads_for(args.engine):
            report = map_shards(args.map_path, args.input, args.output, column=args.column,
                                chunk_size=args.chunk_size, engine=args.engine, address=args.address,
                                concurrency=args.concurrency, progress=shard_progress(args.quiet))
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM under --engine ray (RunInterrupted)
        signum = getattr(err, "signum", signal.SIGINT)
        print(f"instructlin: interrupted by {signal.Signals(signum).name}; {getattr(err, 'recorded', 0)} "
              f"finished shards are recorded in {args.output}, and the same command maps the rest.", file=sys.stderr)
        raise SystemExit(128 + signum) from None
    print(shard_summary(report, "mapped", "rows", args.output))
