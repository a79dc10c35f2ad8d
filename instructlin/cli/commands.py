"""The ``instructlin`` command: evaluate, embed, fit and map."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

from instructlin.atomic import atomic_write
from instructlin.cli.config import config_from_args, progress_bars
from instructlin.cli.embed import cmd_embed
from instructlin.cli.exits import run_command
from instructlin.cli.map import cmd_map, declared_encoder
from instructlin.cli.options import (
    DEVICE_CHOICES,
    ENCODER_CHOICES,
    METHOD_CHOICES,
    SELECTION_CHOICES,
    SUPPORTED_SUFFIXES,
)
from instructlin.cli.outputs import check_output_file, check_output_folder
from instructlin.core.map_io import check_map_folder
from instructlin.core.params import DEFAULT_CHUNK_SIZE
from instructlin.errors import DataError
from instructlin.io.npy_files import load_npy
from instructlin.pipeline.sampling import parse_train_size
from instructlin.shards.workers import LOCAL_THREADS, Engine

logger = logging.getLogger("instructlin")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"instructlin: error: {self.prog.removeprefix('instructlin ')}: {message} (see --help)\n")


def _int_at_least(low: int):
    """An argparse type: an integer >= ``low``, refused in one line that gives the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    return parse


def _train_size(text: str) -> float | int:
    try:
        return parse_train_size(text)
    except DataError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="demo",
                        help=f"demo | nyt:topic | nyt:location | a table path ({' / '.join(SUPPORTED_SUFFIXES)})")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", action="append", dest="label_columns",
                        help="label column (repeat for several labellings)")
    parser.add_argument("--instruction", action="append", dest="instructions",
                        help="task instruction (repeat, paired with --aspect, for several)")
    parser.add_argument("--aspect", action="append", dest="aspects",
                        help="label column each --instruction targets (default: the label columns)")
    parser.add_argument("--encoder", default="auto",
                        help=f"{' | '.join(ENCODER_CHOICES)} | a local folder or hub id")
    parser.add_argument("--instruction-template", default=None,
                        help="prompt template with {instruction}, e.g. 'Instruct: {instruction}\\nQuery:'")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--max-seq-length", type=_int_at_least(1), default=None)
    parser.add_argument("--batch-size", type=_int_at_least(1), default=32)
    parser.add_argument("--cache-dir", default=None,
                        help="default: $INSTRUCTLIN_CACHE or ~/.cache/instructlin")
    parser.add_argument("--n-per-class", type=_int_at_least(1), default=None, help="subsample, stratified and seeded")
    parser.add_argument("--drop-empty", action="store_true", help="drop rows with empty text")
    parser.add_argument("--train-size", dest="train_size", type=_train_size,
                        default=0.2, help="texts given a teacher pass: a count (32) or a fraction (0.2)")
    parser.add_argument("--selection", default="random", choices=SELECTION_CHOICES,
                        help="how those texts are chosen: random (stratified) or label-free over base")
    parser.add_argument("--seed", type=_int_at_least(0), default=42)
    parser.add_argument("--method", default="auto", choices=METHOD_CHOICES,
                        help="auto (default) picks method, prior, alpha and size by label-free CV")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or info logs")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="instructlin", description=__doc__.replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    evaluate = sub.add_parser("evaluate", help="fit on 20%%, score V-measure and time on the rest")
    _common(evaluate)
    evaluate.add_argument("--kmeans-seeds", type=_int_at_least(1), default=10)
    evaluate.add_argument("--splits", type=_int_at_least(1), default=1,
                          help="repeat the split with N seeds; the JSON gets mean and sd")
    evaluate.add_argument("--no-timing", action="store_true")
    evaluate.add_argument("--timing-repeats", type=_int_at_least(1), default=3)
    evaluate.add_argument("--pack", default=None, help="read embeddings from a pack folder instead of encoding "
                          "(manifest.json + .npy, e.g. data/teacher: EmbeddingGemma-300m on the demo corpus)")
    evaluate.add_argument("--output", required=True, help="result JSON path")
    embed = sub.add_parser("embed", help="encode texts (base, or with --instruction) to .npy, or Parquet text "
                           "shards to Parquet vector shards")
    _common(embed)
    embed.add_argument("--output", required=True, help=".npy path, or a folder when --data names shards")
    _engine_flags(embed, "encoders")
    fit = sub.add_parser("fit", help="fit a map from .npy pairs, or from --data on its train split")
    _common(fit)
    fit.add_argument("--base", help="base embeddings .npy (with --instructed)")
    fit.add_argument("--instructed", help="instructed embeddings .npy (with --base)")
    fit.add_argument("--corpus-base", help="base embeddings .npy of the whole corpus (optional): "
                     "pca-ridge and auto learn their basis from them")
    fit.add_argument("--encoder-id", help="the encoder that made --base/--instructed (recorded in the map; "
                     "default: what --base's .npy.json sidecar names)")
    fit.add_argument("--output", required=True, help="folder for model.safetensors + config.json")
    apply = sub.add_parser("map", help="apply a saved map to a .npy or .parquet of embeddings, or a folder of them")
    apply.add_argument("--map", required=True, dest="map_path", help="folder written by `fit`")
    apply.add_argument("--input", required=True, help="a .npy / .parquet file, or a folder or glob of shards")
    apply.add_argument("--output", required=True, help="a file, or a folder for shards (same names, resumable)")
    apply.add_argument("--column", default="embedding", help="Parquet list column to map")
    apply.add_argument("--chunk-size", dest="chunk_size", type=_int_at_least(1), default=DEFAULT_CHUNK_SIZE,
                       help="rows per block (per worker batch with --engine ray); memory is a few blocks")
    _engine_flags(apply, "maps")
    apply.add_argument("--encoder-id", help="the encoder that made --input (default: what its metadata names); "
                       "a map fitted for another encoder is refused")
    apply.add_argument("--quiet", action="store_true")
    return parser


def _engine_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--engine", default=Engine.LOCAL.value, choices=Engine.values(),
                        help="for a folder of shards: local (this process) or ray (a Ray Data actor pool)")
    parser.add_argument("--address", default=None,
                        help="with --engine ray: the Ray cluster to join (default: start a local Ray)")
    parser.add_argument("--concurrency", type=_int_at_least(1), default=None,
                        help=f"with --engine ray: workers, one {what[:-1]} each (default: one per CPU, or per GPU "
                        "where the cluster has GPUs; at most one per shard)"
                        + (f"; with --engine local: shards mapped at once in threads (default: one per CPU, at most "
                           f"{LOCAL_THREADS})" if what == "maps" else ""))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from instructlin.pipeline.experiment import run_experiment

    check_output_file(args.output)
    config = config_from_args(args, n_kmeans_seeds=args.kmeans_seeds, measure_timing=not args.no_timing,
                              timing_repeats=args.timing_repeats, n_splits=args.splits, pack=args.pack)
    result = run_experiment(config, progress=progress_bars(args.quiet))
    record = result.to_dict()
    text = json.dumps(record, indent=2)
    atomic_write(Path(args.output), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    for line in instruction_summaries(result):
        print(line)
    print(f"wrote {args.output}")


def instruction_summaries(result) -> list[str]:
    """One line per instruction: V-measure on its own labelling, retention, and how near the teacher it stands."""
    from instructlin.pipeline.report import gap_closed_text, retention_text

    lines = []
    for r in result.instructions:
        s = r.scores[r.aspect]
        near = "" if r.stand_in is None else (
            f"; cosine {r.stand_in.cosine_base:.3f} -> {r.stand_in.cosine_mapped:.3f}, recall@10 "
            f"{r.stand_in.recall10_base:.2f} -> {r.stand_in.recall10_mapped:.2f} (base -> mapped)")
        lines.append(f"{r.aspect}: V-measure base {s.base.mean:.3f}, mapped {s.mapped.mean:.3f}, instructed "
                     f"{s.instructed.mean:.3f}; retention {retention_text(s)}, gap closed {gap_closed_text(s)}"
                     f"{near}; map {r.map.describe()}")
    return lines


def cmd_fit(args: argparse.Namespace) -> None:
    from instructlin.core.mapping import InstructionMap

    check_output_folder(args.output, hint="a map is a folder (model.safetensors + config.json)")
    check_map_folder(args.output)  # before any work: not an ancestor of here, not someone else's folder
    if args.base or args.instructed:
        if not (args.base and args.instructed):
            raise DataError("Pass both --base and --instructed .npy files, or neither (to use --data).")
        X, Y = load_npy(args.base, "--base"), load_npy(args.instructed, "--instructed")
        corpus = load_npy(args.corpus_base, "--corpus-base") if args.corpus_base else None
        metadata = {"instruction": (args.instructions or [""])[0]}
        encoder_id = declared_encoder(args.encoder_id, args.base, args.instructed)
        if encoder_id:
            metadata["encoder"] = encoder_id
        model = InstructionMap(args.method, device=args.device, random_state=args.seed).fit(
            X, Y, X_unpaired=corpus, metadata=metadata)
    else:
        from instructlin.pipeline.experiment import run_experiment

        config = config_from_args(args, measure_timing=False)
        result = run_experiment(config, progress=progress_bars(args.quiet))
        model = result.primary.map
    model.save(args.output)
    print(f"wrote a {model.describe()} map (d={model.n_features_in_}) to {args.output}")


COMMANDS = {"evaluate": cmd_evaluate, "embed": cmd_embed, "fit": cmd_fit, "map": cmd_map}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``instructlin`` console script; errors print one line (exit codes: cli_run)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return run_command(COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
