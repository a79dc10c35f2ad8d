"""Sharded runs: one output shard per input shard, resumable, never mixing two maps (or two encoders).

A corpus of 10^7 and more embeddings is stored as many ``.npy`` or Parquet shards. A *worker* turns one
input shard into a same-named output shard (written atomically, in memory bounded by its batch), and an
*engine* hands the shards to workers: ``local`` runs one worker in this process, ``ray`` runs an actor
pool on Ray Data (:mod:`instructlin.shards.ray_engine`). The manifest in the output folder is kept here, by the
driver, whatever the engine: it records the run's fingerprint (which map, or which encoder and
instruction) and every finished shard (its input's size and mtime, rows, output size and SHA-256), so a
rerun after a kill skips what is done and a rerun with another map refuses to mix outputs. A bad shard
is named once every other shard is done; nothing is written for it.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructlin.atomic import atomic_write
from instructlin.core.map_io import CONFIG_FILE, WEIGHTS_FILE, file_sha256
from instructlin.errors import DataError
from instructlin.io.streaming import DEFAULT_CHUNK_SIZE, map_file
from instructlin.shards.lock import FolderLock, remove_worker_temps
from instructlin.shards.workers import Engine, ShardOutcome, ShardWorker, local_threads, run_local

MANIFEST = "instructlin-shards.json"
SHARD_SUFFIXES = (".npy", ".parquet")
#: ``progress(shard_name, done_shards, total_shards, status)`` after each shard; status is "written",
#: "skipped" (already complete) or "failed".
ShardProgress = Callable[[str, int, int, str], None]


@dataclass
class ShardReport:
    """What a run did: the shards it wrote and those it found complete and skipped."""

    mapped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0  # rows written by this run
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # per shard, of the process that wrote it
    start_rss_mb: dict[str, float] = field(default_factory=dict)  # that process before its first shard


def list_shards(source: str | Path, suffixes: tuple[str, ...] = SHARD_SUFFIXES) -> list[Path]:
    """The input shards, sorted by name: every file of a folder with one of ``suffixes``, or of a glob."""
    text = str(source)
    folder = Path(text)
    paths = sorted(folder.iterdir()) if folder.is_dir() else sorted(Path(p) for p in glob.glob(text))
    shards = [p for p in paths if p.is_file() and p.suffix in suffixes]
    if not shards:
        kinds = " or ".join(suffixes)
        raise DataError(f"No {kinds} shards found at {text}; give a folder of shards or a glob "
                        f"such as 'embeddings/part-*{suffixes[-1]}'.")
    found = {p.suffix for p in shards}
    if len(found) > 1:
        raise DataError(f"{text} mixes {' and '.join(sorted(found))} shards; map one kind per run.")
    check_distinct_names(shards)
    return shards


def check_distinct_names(shards: list[Path]) -> None:
    """Refuse two inputs of one file name (``a/part.npy``, ``b/part.npy``): both would write one output file."""
    seen: dict[str, Path] = {}
    for shard in shards:
        if shard.name in seen:
            raise DataError(f"The inputs {seen[shard.name]} and {shard} would both write {shard.name} in the "
                            "output folder; give a glob that matches each file name once, or map each folder "
                            "into its own --output.")
        seen[shard.name] = shard


def map_fingerprint(map_dir: str | Path) -> str:
    """SHA-256 over a saved map's weights and config: two runs with the same fingerprint used the same map."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        digest.update((Path(map_dir) / name).read_bytes())
    return digest.hexdigest()


class ShardMapper(ShardWorker):
    """The map worker: loads the saved map once (per process or Ray actor), then maps shard after shard."""

    def __init__(self, *, map_dir: str, fingerprint: str, output: str, column: str = "embedding",
                 chunk_size: int = DEFAULT_CHUNK_SIZE, driver: tuple[str, int] | None = None) -> None:
        self.map_dir, self.fingerprint, self.driver = map_dir, fingerprint, driver
        self.output, self.column, self.chunk_size = Path(output), column, chunk_size

    def load(self) -> None:
        from instructlin.core.mapping import InstructionMap

        if map_fingerprint(self.map_dir) != self.fingerprint:
            raise DataError(f"The map in {self.map_dir} changed after the run started; run it again.")
        self.model = InstructionMap.load(self.map_dir)

    def write(self, shard: Path, target: Path) -> int:
        return map_file(self.model, shard, target, column=self.column, chunk_size=self.chunk_size)


class ShardRun:
    """The driver's side of a sharded run: which shards are pending, and the manifest of finished ones.

    Used as ``with ShardRun(...) as run``: the output folder is locked for the block (see run_lock).
    """

    def __init__(self, source: str | Path, output: str | Path, fingerprint: str, *, what: str = "map",
                 suffixes: tuple[str, ...] = SHARD_SUFFIXES) -> None:
        self.shards = list_shards(source, suffixes)
        self.output = Path(output).resolve()
        if self.output.exists() and not self.output.is_dir():
            raise DataError(f"--output {self.output} is a file; shards are written into a folder.")
        if any(self.output == s.parent.resolve() for s in self.shards):
            raise DataError(f"The output folder {self.output} holds the input shards; write to another folder.")
        self.fingerprint, self.what = fingerprint, what
        self.output.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(self.output)
        self.report = ShardReport()
        self.errors: dict[str, str] = {}

    def __enter__(self) -> ShardRun:
        """Lock the output folder (a second run into it is refused), then read its manifest."""
        self.lock.acquire()
        try:
            self.manifest = self._read_manifest()
            self.pending = [s for s in self.shards if not self._complete(s)]
        except BaseException:
            self.lock.release()
            raise
        self.report.skipped = [s.name for s in self.shards if s not in self.pending]
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, tb: object) -> None:
        if kind is not None:  # interrupted or failed: temp files of workers now gone are removed
            remove_worker_temps(self.output)
        if isinstance(value, KeyboardInterrupt):
            value.recorded = len(self.report.mapped) + len(self.report.skipped)  # for the CLI's one line
        self.lock.release()

    def _read_manifest(self) -> dict[str, Any]:
        path = self.output / MANIFEST
        if not path.exists():
            return {"format": 2, "kind": self.what, "fingerprint": self.fingerprint, "shards": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            recorded = manifest.get("fingerprint") or manifest["map_sha256"]  # format 1 named it map_sha256
            if not isinstance(manifest.setdefault("shards", {}), dict) or not all(
                    isinstance(entry, dict) for entry in manifest["shards"].values()):
                raise TypeError("'shards' must be an object of one object per shard")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            raise DataError(f"{path} is not a readable shard manifest ({err}); remove it, or write to a new "
                            "folder.") from err
        if recorded != self.fingerprint:
            raise DataError(f"{self.output} holds shards made with another {self.what} (fingerprint "
                            f"{recorded[:12]}, this run {self.fingerprint[:12]}); write to a new folder so the "
                            "two are not mixed.")
        return manifest

    def _complete(self, shard: Path) -> bool:
        """Whether the shard's output is finished: recorded for the same input, and still there as written
        (its SHA-256 checked: a zeroed or damaged file of the right size is mapped again)."""
        entry = self.manifest["shards"].get(shard.name)
        target = self.output / shard.name
        stat = shard.stat()
        return isinstance(entry, dict) and entry.get("input") == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns} \
            and target.is_file() and target.stat().st_size == entry.get("output_size") \
            and entry.get("output_sha256") == file_sha256(target)

    def record(self, outcome: ShardOutcome) -> None:
        """Note one worker's outcome; a finished shard is written into the manifest at once (atomically)."""
        if outcome.error:
            self.errors[outcome.name] = outcome.error
            return
        self.manifest["shards"][outcome.name] = {
            "input": {"size": outcome.input_size, "mtime_ns": outcome.input_mtime_ns},
            "rows": outcome.rows, "output_size": outcome.output_size, "output_sha256": outcome.output_sha256}
        text = json.dumps(self.manifest, indent=1, sort_keys=True)
        atomic_write(self.output / MANIFEST, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        self.report.mapped.append(outcome.name)
        self.report.rows += outcome.rows
        self.report.peak_rss_mb[outcome.name] = outcome.peak_rss_mb
        self.report.start_rss_mb[outcome.name] = outcome.start_rss_mb

    def drive(self, outcomes: Iterable[ShardOutcome], progress: ShardProgress | None = None) -> ShardReport:
        """Record every outcome as it arrives, then raise a DataError naming the bad shards, if any."""
        done = 0
        for name in self.report.skipped:
            done += 1
            if progress:
                progress(name, done, len(self.shards), "skipped")
        for outcome in outcomes:
            self.record(outcome)
            done += 1
            if progress:
                progress(outcome.name, done, len(self.shards), "failed" if outcome.error else "written")
        self.report.mapped.sort()
        if self.errors:
            first = min(self.errors)
            more = f" ({len(self.errors) - 1} more bad shard(s): {', '.join(sorted(self.errors)[1:])})" \
                if len(self.errors) > 1 else ""
            raise DataError(f"Shard {first}: {self.errors[first].rstrip('.')}{more}. Nothing was written for it; the "
                            f"{len(self.report.mapped) + len(self.report.skipped)} good shards are kept, and a "
                            "rerun after the fix resumes.")
        return self.report


def check_engine(engine: str, address: str | None) -> None:
    if engine not in Engine.values():
        raise DataError(f"Unknown engine {engine!r}; use one of {', '.join(Engine.values())}.")
    if address and engine != Engine.RAY:
        raise DataError("--address names a Ray cluster; add --engine ray.")


def map_shards(
    map_dir: str | Path,
    source: str | Path,
    output: str | Path,
    *,
    column: str = "embedding",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    engine: str = Engine.LOCAL,
    address: str | None = None,
    concurrency: int | None = None,
    progress: ShardProgress | None = None,
) -> ShardReport:
    """Map every shard of ``source`` into ``output`` (same file names), skipping shards already complete.

    ``engine="ray"`` spreads the shards over a Ray Data actor pool of ``concurrency`` workers (default:
    one per CPU Ray sees), on a local Ray or the cluster at ``address``; every worker loads the map once.
    ``engine="local"`` maps ``concurrency`` shards at once in threads of this process, with one loaded map.
    A bad shard is reported by a :class:`DataError` naming it after the others are done.
    """
    from instructlin.io.streaming import check_chunk_size

    check_engine(engine, address)
    chunk_size = check_chunk_size(chunk_size)
    fingerprint = map_fingerprint(map_dir)
    with ShardRun(source, output, fingerprint, what="map") as run:
        kwargs = {"map_dir": str(Path(map_dir).resolve()), "fingerprint": fingerprint, "output": str(run.output),
                  "column": column, "chunk_size": chunk_size}  # absolute: a worker on another node has another cwd
        if not run.pending:
            return run.drive([], progress)
        if engine == Engine.RAY:
            from instructlin.shards.ray_engine import run_on_ray

            return run.drive(run_on_ray(ShardMapper, kwargs, run.pending, address=address,
                                        concurrency=concurrency), progress)
        return run.drive(run_local(ShardMapper(**kwargs), run.pending, threads=local_threads(concurrency)), progress)
