"""``instructlin embed``: a table's texts to one ``.npy`` (cached), or Parquet text shards to vector shards."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.cli.map import is_shard_source, shard_progress, shard_summary
from instructlin.cli.outputs import check_output_file, check_output_folder
from instructlin.errors import DataError
from instructlin.io.npy_files import write_sidecar
from instructlin.shards.workers import Engine


def save_npy(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (a .npy name, checked before encoding) atomically."""
    atomic_write(Path(path), lambda tmp: np.save(tmp, array, allow_pickle=False))  # tmp ends in .npy


def cmd_embed(args: argparse.Namespace) -> None:
    from instructlin.shards.runs import check_engine

    check_engine(args.engine, args.address)
    if is_shard_source(args.data):
        _embed_shards(args)
        return
    if args.engine != Engine.LOCAL:
        raise DataError(f"--engine {args.engine} encodes a folder (or glob) of Parquet text shards; --data "
                        f"{args.data} is not one. Drop --engine, or split the table into shards.")
    _embed_table(args)


def _embed_table(args: argparse.Namespace) -> None:
    """One table's texts to one .npy and its provenance sidecar, through the embedding cache."""
    from instructlin.cli.config import config_from_args, progress_bars
    from instructlin.pipeline.stages import encoder_metadata, load_data, open_encoder
    from instructlin.sources.cache import EmbeddingCache

    check_output_file(args.output, suffix=".npy")
    config = config_from_args(args)
    dataset = load_data(spec=config.data_spec())
    encoder = open_encoder(spec=config.encoder_spec())
    instruction = (args.instructions or [None])[0]
    cache = EmbeddingCache.in_cache_dir(config.cache_dir)
    bars = progress_bars(args.quiet)
    hook = (lambda d, t: bars("encode", d, t)) if bars else None
    array, _ = cache.encode(encoder, dataset.texts, instruction=instruction,
                            batch_size=config.batch_size, progress=hook)
    save_npy(args.output, array)
    write_sidecar(args.output, {**encoder_metadata(encoder), "instruction": instruction or "",
                                "max_seq_length": encoder.max_seq_length, "shape": list(array.shape)})
    print(f"wrote {array.shape} embeddings from {encoder.describe()} to {args.output}")


def _embed_shards(args: argparse.Namespace) -> None:
    """Every Parquet text shard of ``--data`` to a same-named shard of vectors in the ``--output`` folder."""
    from instructlin.shards.embed import embed_shards

    check_output_folder(args.output, hint="Parquet vector shards are written into a folder")
    report = embed_shards(args.data, args.output, encoder=args.encoder, instruction=(args.instructions or [None])[0],
                          instruction_template=args.instruction_template, max_seq_length=args.max_seq_length,
                          device=args.device, text_column=args.text_column, batch_size=args.batch_size,
                          engine=args.engine, address=args.address, concurrency=args.concurrency,
                          progress=shard_progress(args.quiet))
    print(shard_summary(report, "encoded", "texts", args.output))
