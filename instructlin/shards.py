"""Mapping a folder of shards: one output shard per input shard, resumable, never mixing two maps.

A corpus of 10^7 and more embeddings is stored as many ``.npy`` or Parquet shards. Each shard is mapped
by :func:`instructlin.streaming.map_file` (bounded memory, written atomically) to a file of the same name
in the output folder. A manifest there records the map's fingerprint and every completed shard (its
input's size and mtime, its rows), so a rerun after a kill skips what is done and a rerun with another
map refuses to mix outputs. This is the engine-independent part of a sharded run; a distributed engine
would hand out the same per-shard work.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructlin.atomic import atomic_write
from instructlin.data import DataError
from instructlin.map_io import CONFIG_FILE, WEIGHTS_FILE
from instructlin.streaming import DEFAULT_CHUNK_SIZE, map_file

MANIFEST = "instructlin-shards.json"
SHARD_SUFFIXES = (".npy", ".parquet")
#: ``progress(shard_name, done_shards, total_shards)`` after each shard (mapped or skipped).
ShardProgress = Callable[[str, int, int], None]


@dataclass
class ShardReport:
    """What a run did: the shards it mapped and those it found complete and skipped."""

    mapped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0  # rows mapped by this run


def list_shards(source: str | Path) -> list[Path]:
    """The input shards, sorted by name: every .npy / .parquet file of a folder, or the files of a glob."""
    text = str(source)
    folder = Path(text)
    paths = sorted(folder.iterdir()) if folder.is_dir() else sorted(Path(p) for p in glob.glob(text))
    shards = [p for p in paths if p.is_file() and p.suffix in SHARD_SUFFIXES]
    if not shards:
        raise DataError(f"No .npy or .parquet shards found at {text}; give a folder of shards or a glob "
                        "such as 'embeddings/part-*.parquet'.")
    suffixes = {p.suffix for p in shards}
    if len(suffixes) > 1:
        raise DataError(f"{text} mixes {' and '.join(sorted(suffixes))} shards; map one kind per run.")
    return shards


def map_fingerprint(map_dir: str | Path) -> str:
    """SHA-256 over a saved map's weights and config: two runs with the same fingerprint used the same map."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        digest.update((Path(map_dir) / name).read_bytes())
    return digest.hexdigest()


def _read_manifest(output: Path, fingerprint: str) -> dict[str, Any]:
    path = output / MANIFEST
    if not path.exists():
        return {"format": 1, "map_sha256": fingerprint, "shards": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        recorded = manifest["map_sha256"]
        manifest.setdefault("shards", {})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is not a readable shard manifest ({err}); remove it, or write to a new "
                        "folder.") from err
    if recorded != fingerprint:
        raise DataError(f"{output} holds shards mapped with another map (sha256 {recorded[:12]}, this one "
                        f"{fingerprint[:12]}); write to a new folder so the two are not mixed.")
    return manifest


def _input_stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _complete(manifest: dict[str, Any], shard: Path, target: Path) -> bool:
    """Whether ``target`` is this shard's finished output: recorded for the same input, and still there."""
    entry = manifest["shards"].get(shard.name)
    return bool(entry) and entry.get("input") == _input_stamp(shard) and target.is_file() \
        and target.stat().st_size == entry.get("output_size")


def map_shards(
    map_dir: str | Path,
    source: str | Path,
    output: str | Path,
    *,
    column: str = "embedding",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ShardProgress | None = None,
) -> ShardReport:
    """Map every shard of ``source`` into ``output`` (same file names), skipping shards already complete.

    A bad shard stops the run with a :class:`DataError` naming it; nothing is written for that shard and
    the shards finished before it stay recorded, so the next run resumes there.
    """
    from instructlin.mapping import InstructionMap

    shards = list_shards(source)
    output = Path(output)
    if any(output.resolve() == s.parent.resolve() for s in shards):
        raise DataError(f"The output folder {output} holds the input shards; write to another folder.")
    model = InstructionMap.load(map_dir)
    fingerprint = map_fingerprint(map_dir)
    output.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(output, fingerprint)
    report = ShardReport()
    for i, shard in enumerate(shards, 1):
        target = output / shard.name
        if _complete(manifest, shard, target):
            report.skipped.append(shard.name)
        else:
            try:
                rows = map_file(model, shard, target, column=column, chunk_size=chunk_size)
            except DataError as err:
                raise DataError(f"Shard {shard.name}: {err}") from err
            manifest["shards"][shard.name] = {"input": _input_stamp(shard), "rows": rows,
                                              "output_size": target.stat().st_size}
            text = json.dumps(manifest, indent=1, sort_keys=True)
            atomic_write(output / MANIFEST, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
            report.mapped.append(shard.name)
            report.rows += rows
        if progress:
            progress(shard.name, i, len(shards))
    return report
