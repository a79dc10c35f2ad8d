"""What the flags of a command describe: its experiment config, and its progress bars (or none with --quiet)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from instructlin.errors import DataError
from instructlin.pipeline.experiment import ExperimentConfig


def config_from_args(args: argparse.Namespace, **extra) -> ExperimentConfig:
    """The experiment config the CLI flags describe."""
    instructions = args.instructions or []
    aspects = args.aspects or (args.label_columns or [])[: len(instructions)]
    if instructions and len(aspects) != len(instructions):
        if len(instructions) == 1 and not aspects:
            aspects = [""]  # the first label column
        else:
            raise DataError("Give one --aspect per --instruction (the label column each one targets).")
    return ExperimentConfig(
        data=args.data, text_column=args.text_column,
        label_columns=tuple(args.label_columns) if args.label_columns else None,
        instructions=tuple(zip(aspects, instructions, strict=True)), encoder=args.encoder,
        instruction_template=args.instruction_template, train_size=args.train_size, selection=args.selection,
        seed=args.seed, method=args.method, device=args.device, max_seq_length=args.max_seq_length,
        batch_size=args.batch_size, cache_dir=args.cache_dir, n_per_class=args.n_per_class,
        drop_empty=args.drop_empty, **extra,
    )


def progress_bars(quiet: bool) -> Callable[[str, int, int], None] | None:
    """A ``progress(stage, done, total)`` that draws one bar per stage, or None when the command is quiet."""
    if quiet:
        return None
    from instructlin.extras import progress_bar as tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="text"))
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return progress
