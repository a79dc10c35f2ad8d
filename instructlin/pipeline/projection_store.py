"""A pack's precomputed projection planes: what :func:`aligned_projection` drew for a live map, kept on disk.

A first view then needs no UMAP (whose numba compilation costs a fresh install tens of seconds). An entry is
used only where everything it was made from is what the app has now: the pack's arrays (their SHA-256), the
test rows, the map, the UMAP settings and umap-learn's version, and the map's output itself (a fingerprint,
compared within float noise). Anything else is computed live, so a stale plane is never shown.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.pipeline.projection import ALIGNMENT, UMAP_SETTINGS
from instructlin.sources.packs import Pack

STORE_FILE = "projections.json"
STORE_VERSION = 1
#: The command that (re)writes a pack's store.
STORE_COMMAND = "python scripts/project_pack.py"
_FINGERPRINT_DIRECTIONS = 4
_FINGERPRINT_ATOL = 1e-4  # float32 BLAS differences are ~1e-7; a different map moves these by far more


@dataclass(frozen=True)
class DemoViews:
    """What the app's demo projects for one pack instruction: the three sets of test rows, and what made them."""

    views: dict[str, np.ndarray]  # base, mapped, instructed (test rows)
    labels: dict[str, np.ndarray]  # every labelling of the test rows
    test_rows: np.ndarray
    map_description: str
    seed: int


def demo_views(pack: str | Path, instruction: str, *, seed: int = 42) -> DemoViews:
    """The demo's run of ``instruction`` on a pack (demo corpus, auto map, 20 % split, ``seed``), as Home runs it."""
    from instructlin.pipeline import stages
    from instructlin.pipeline.config import ExperimentConfig

    aspect = "location"  # the map depends on the instruction only; any labelling names it
    config = ExperimentConfig(data="demo", pack=str(pack), instructions=((aspect, instruction),),
                              measure_timing=False, seed=seed)
    data = stages.load_data(spec=config.data_spec())
    embeddings = stages.embed(spec=config.embedding_spec(), encoder=None, dataset=data)
    split = stages.split_rows(spec=config.split_spec(), dataset=data)
    fitted = stages.fit_map(spec=config.map_spec(aspect), embeddings=embeddings, split=split)
    views = {"base": embeddings.base[split.test], "mapped": fitted.mapped_test,
             "instructed": embeddings.instructed[aspect][split.test]}
    return DemoViews(views, {a: data.labels[a][split.test] for a in data.aspects}, split.test,
                     fitted.model.describe(), seed)


def mapped_fingerprint(mapped: np.ndarray) -> np.ndarray:
    """The mapped rows seen along a few fixed random directions: (n, 4) numbers that change with the map."""
    mapped = np.asarray(mapped, dtype=np.float64)
    directions = np.random.default_rng(0).standard_normal((mapped.shape[1], _FINGERPRINT_DIRECTIONS))
    return mapped @ (directions / np.sqrt(mapped.shape[1]))


def projection_inputs(
    pack: Pack, instruction: str, *, test_rows: Sequence[int], map_description: str, seed: int
) -> dict[str, Any]:
    """What a plane is made from, besides the map's output: compared field by field with a stored entry."""
    return {"version": STORE_VERSION, "texts_sha256": pack.texts_sha256,
            "base_sha256": pack.file_for(None).sha256, "instruction": instruction,
            "instructed_sha256": pack.file_for(instruction).sha256, "test_rows": [int(i) for i in test_rows],
            "map": map_description, "seed": int(seed), "umap_settings": dict(UMAP_SETTINGS), "alignment": ALIGNMENT,
            "umap_learn": _umap_version()}


def _umap_version() -> str:
    try:
        return metadata.version("umap-learn")
    except metadata.PackageNotFoundError:
        return "not installed"


def stored_projection(pack: Pack, key: Mapping[str, Any], mapped: np.ndarray) -> dict[str, np.ndarray] | None:
    """The stored planes made from exactly ``key`` and this map output, or None (none stored, or stale)."""
    path = pack.folder / STORE_FILE
    if not path.is_file():
        return None
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("entries", [])
    except (OSError, ValueError, AttributeError):
        return None  # an unreadable store is no store: the live projection runs
    found = mapped_fingerprint(mapped)
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("key") != dict(key):
            continue
        stored = np.asarray(entry.get("mapped_fingerprint", []), dtype=np.float64)
        if stored.shape != found.shape or not np.allclose(stored, found, rtol=0, atol=_FINGERPRINT_ATOL):
            return None
        coords = {name: np.asarray(xy, dtype=np.float32) for name, xy in entry.get("coords", {}).items()}
        n = len(key["test_rows"])
        return coords if coords and all(c.shape == (n, 2) for c in coords.values()) else None
    return None


def store_entry(key: Mapping[str, Any], mapped: np.ndarray, coords: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """One entry of the store: the key, the map output's fingerprint and the planes."""
    return {"key": dict(key), "mapped_fingerprint": np.round(mapped_fingerprint(mapped), 7).tolist(),
            "coords": {name: np.round(np.asarray(xy, dtype=np.float64), 5).tolist() for name, xy in coords.items()}}


def write_store(folder: str | Path, entries: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``entries`` to the pack's store (a temp file renamed into place)."""
    path = Path(folder) / STORE_FILE
    record = {"made_by": STORE_COMMAND, "version": STORE_VERSION, "entries": list(entries)}
    handle, temp = tempfile.mkstemp(prefix=".projections-", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(record, out, separators=(",", ":"))
    os.chmod(temp, 0o644)  # a data file of the repository, not a private one
    os.replace(temp, path)
    return path
