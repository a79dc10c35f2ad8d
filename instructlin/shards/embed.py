"""Encoding Parquet text shards: one shard of vectors per shard of texts, ids kept, provenance recorded.

The base pass over a corpus (and a teacher pass over its sample) is the GPU part of the work. Each input
shard holds a text column and any id columns; its output shard, of the same name, holds the same columns
with the text replaced by an ``embedding`` column (fixed-size list of float32), in the same row order.
The Parquet schema metadata records the encoder, its revision, template, instruction and prompt, so
``instructlin map`` can refuse a map fitted for another encoder. Runs are resumable like
:func:`instructlin.shards.runs.map_shards`, on the same engines; on Ray each actor holds one encoder (and one
GPU where the cluster has them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from instructlin.atomic import atomic_write
from instructlin.errors import DataError, one_line
from instructlin.extras import require
from instructlin.io import arrow_lists
from instructlin.io.npy_files import PARQUET_ENCODER_KEY
from instructlin.shards.runs import ShardProgress, ShardReport, ShardRun, check_engine
from instructlin.shards.workers import ShardWorker, run_local

PROVENANCE_KEY = b"instructlin.provenance"
EMBEDDING_COLUMN = "embedding"
#: Texts read, encoded and written per step: memory is this many texts and vectors, whatever the shard.
ROWS_PER_STEP = 4096


def resolve_encoder_name(name: str) -> str:
    """``auto`` made definite once, on the driver, so every worker loads the same model: Qwen3 where it is
    cached or the hub answers, else the offline default. Other names pass through."""
    if name != "auto":
        folder = Path(name).expanduser()
        return str(folder.resolve()) if folder.is_dir() else name  # absolute: workers elsewhere have another cwd
    from instructlin.sources.encoders import QWEN3_MODEL_ID
    from instructlin.sources.hub import hub_offline, hub_reachable

    try:
        from huggingface_hub import try_to_load_from_cache

        cached = isinstance(try_to_load_from_cache(QWEN3_MODEL_ID, "config.json"), str)
    except ImportError:
        cached = False
    return "qwen3" if cached or (not hub_offline() and hub_reachable()) else "minilm"


def encode_file(encoder: Any, source: Path, target: Path, *, text_column: str = "text",
                instruction: str | None = None, batch_size: int = 32, rows_per_step: int = ROWS_PER_STEP) -> int:
    """Encode the ``text_column`` of one Parquet shard into ``target`` (atomically); returns the rows."""
    pa = require("pyarrow", purpose="Parquet text shards")
    pq = require("pyarrow.parquet", purpose="Parquet text shards")

    try:
        reader = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{source.name} is not a readable Parquet file ({one_line(err)}).") from None
    schema = reader.schema_arrow
    if text_column not in schema.names:
        raise DataError(f"{source.name} has no column {text_column!r}; columns found: {schema.names}. "
                        "Name the text column with --text-column.")
    kind = schema.field(text_column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"Column {text_column!r} of {source.name} holds {kind}, not text.")
    if EMBEDDING_COLUMN in schema.names:
        raise DataError(f"{source.name} already has an {EMBEDDING_COLUMN!r} column; drop it, or encode the texts "
                        "from a table without one.")
    provenance = {"encoder": encoder.model_id, "revision": encoder.revision, "template": encoder.template,
                  "instruction": instruction or "", "prompt": encoder.format_prompt(instruction) or "",
                  "max_seq_length": encoder.max_seq_length, "dim": encoder.dim, "dtype": encoder.dtype,
                  "device": encoder.device, "text_column": text_column}
    keep = [name for name in schema.names if name != text_column]
    vector_type = pa.list_(pa.float32(), encoder.dim)
    out_schema = pa.schema([*(schema.field(n) for n in keep), pa.field(EMBEDDING_COLUMN, vector_type)],
                           metadata={PARQUET_ENCODER_KEY: encoder.model_id.encode("utf-8"),
                                     PROVENANCE_KEY: json.dumps(provenance).encode("utf-8")})
    done = 0

    def write(tmp: str) -> None:
        nonlocal done
        with pq.ParquetWriter(tmp, out_schema) as writer:
            for batch in reader.iter_batches(batch_size=rows_per_step):
                texts = batch.column(text_column).to_pylist()
                if None in texts:
                    row = done + texts.index(None)
                    raise DataError(f"{source.name} row {row} has no text (null); drop or fill it first.")
                vectors = encoder.encode(texts, instruction=instruction, batch_size=batch_size)
                columns = [batch.column(n) for n in keep] + [arrow_lists.list_array(vectors, vector_type)]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=out_schema))
                done += batch.num_rows
            if not done:  # an empty shard still gives a valid file, with its schema
                writer.write_table(out_schema.empty_table())

    atomic_write(target, write)
    return done


class ShardEmbedder(ShardWorker):
    """The encode worker: loads its encoder once (per process or Ray actor), then encodes shard after shard."""

    def __init__(self, *, output: str, encoder: str, device: str = "auto", max_seq_length: int | None = None,
                 instruction_template: str | None = None, instruction: str | None = None,
                 text_column: str = "text", batch_size: int = 32, rows_per_step: int = ROWS_PER_STEP,
                 driver: tuple[str, int] | None = None) -> None:
        self.driver = driver
        self.encoder_options = {"name": encoder, "device": device, "max_seq_length": max_seq_length,
                                "instruction_template": instruction_template}
        self.output = Path(output)
        self.options = {"text_column": text_column, "instruction": instruction, "batch_size": batch_size,
                        "rows_per_step": rows_per_step}

    def load(self) -> None:
        from instructlin.sources.encoders import load_encoder

        self.encoder = load_encoder(**self.encoder_options)

    def write(self, shard: Path, target: Path) -> int:
        return encode_file(self.encoder, shard, target, **self.options)


def embed_shards(
    source: str | Path,
    output: str | Path,
    *,
    encoder: str = "auto",
    instruction: str | None = None,
    instruction_template: str | None = None,
    max_seq_length: int | None = None,
    device: str = "auto",
    text_column: str = "text",
    batch_size: int = 32,
    engine: str = "local",
    address: str | None = None,
    concurrency: int | None = None,
    progress: ShardProgress | None = None,
) -> ShardReport:
    """Encode every Parquet text shard of ``source`` into ``output`` (same names), skipping finished shards.

    The fingerprint in the manifest covers the encoder, template, instruction, length and text column, so
    a rerun with another instruction refuses the folder instead of mixing two kinds of vectors.
    """
    check_engine(engine, address)
    name = resolve_encoder_name(str(encoder))
    settings = {"encoder": name, "instruction": instruction or "", "instruction_template": instruction_template,
                "max_seq_length": max_seq_length, "text_column": text_column}
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()
    with ShardRun(source, output, fingerprint, what="encoder and instruction", suffixes=(".parquet",)) as run:
        kwargs = {"output": str(run.output), "encoder": name, "device": device, "max_seq_length": max_seq_length,
                  "instruction_template": instruction_template, "instruction": instruction,
                  "text_column": text_column, "batch_size": batch_size}
        if not run.pending:
            return run.drive([], progress)
        if engine == "ray":
            from instructlin.shards.ray_engine import run_on_ray

            return run.drive(run_on_ray(ShardEmbedder, kwargs, run.pending, address=address,
                                        concurrency=concurrency, gpus_per_worker=0 if device == "cpu" else None),
                             progress)
        return run.drive(run_local(ShardEmbedder(**kwargs), run.pending), progress)
