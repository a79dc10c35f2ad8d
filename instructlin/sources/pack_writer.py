"""Making a pack: one ``.npy`` per instruction and the manifest that checks them, each written atomically."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.sources.cache import texts_digest
from instructlin.sources.packs import MANIFEST, Pack, read_pack


def write_pack(
    folder: str | Path, *, texts: Sequence[str], arrays: Mapping[str | None, np.ndarray], model: str,
    template: str, max_seq_length: int | None, corpus: str, name: str | None = None, device: str = "cpu",
) -> Pack:
    """Write a pack: one ``.npy`` per instruction (None: base) and its manifest, each file atomically."""
    folder = Path(folder)
    if None not in arrays:
        raise ValueError("A pack needs the base embeddings: arrays[None].")
    entries = []
    for i, (instruction, array) in enumerate(arrays.items()):
        array = np.ascontiguousarray(array, dtype=np.float32)
        if array.ndim != 2 or len(array) != len(texts):
            raise ValueError(f"Every array must be (n_texts={len(texts)}, dim); {instruction!r} is {array.shape}.")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        file = "base.npy" if instruction is None else f"instruction-{i}.npy"
        data = buffer.getvalue()
        atomic_write(folder / file, lambda tmp, data=data: Path(tmp).write_bytes(data))
        entries.append({"file": file, "instruction": instruction, "shape": list(array.shape), "dtype": "float32",
                        "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"model": model, "name": name or model, "template": template, "max_seq_length": max_seq_length,
                "dtype": "float32", "device": device,
                "texts": {"corpus": corpus, "n": len(texts), "sha256": texts_digest(texts),
                          "hash_of": "instructlin.sources.cache.texts_digest(texts)"},
                "files": entries}
    atomic_write(folder / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2),
                                                                     encoding="utf-8"))
    return read_pack(folder)
