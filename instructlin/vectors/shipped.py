"""The shipped example of "your vectors": a pack's base and instructed arrays of the demo corpus, read as
uploaded files, with the demo corpus's label column that the pack's manifest names for the instruction."""

from __future__ import annotations

from pathlib import Path

from instructlin.sources.packs import Pack, PackFile
from instructlin.vectors.runs import VectorSpec


def instructed_files(pack: Pack) -> dict[str, PackFile]:
    """The pack's instructed arrays (the base set left out), by file name, in manifest order."""
    return {f.file: f for f in pack.files if f.instruction}


def example_spec(pack: Pack, file: str, *, corpus: Path, method: str = "auto", train_size: float = 0.2,
                 seed: int = 42) -> VectorSpec:
    """The pack's base array and its ``file``, matched by position; labels from ``corpus`` where the manifest
    names the labelling the instruction is meant for, none otherwise."""
    entry = instructed_files(pack)[file]
    aspect = entry.labelling
    return VectorSpec(str(pack.folder / pack.file_for(None).file), str(pack.folder / file),
                      str(corpus) if aspect else None,
                      names=(pack.file_for(None).file, file, corpus.name if aspect else None), id_column="",
                      label_column=aspect, method=method, train_size=float(train_size), seed=int(seed))
