"""Disk cache of embeddings, keyed by a content hash, written atomically, checked on read."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.sources.protocols import ProgressCallback, TextEncoder

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$INSTRUCTLIN_CACHE`` or ``~/.cache/instructlin``."""
    return Path(os.environ.get("INSTRUCTLIN_CACHE", Path.home() / ".cache" / "instructlin"))


def texts_digest(texts: Sequence[str]) -> str:
    """SHA-256 of the exact texts, in order (length-prefixed so boundaries count)."""
    digest = hashlib.sha256()
    for text in texts:
        raw = text.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()


def embedding_key(encoder: TextEncoder, texts: Sequence[str], instruction: str | None,
                  *, normalize: bool = True) -> dict[str, str]:
    """Everything that determines the embeddings, as strings (also stored beside them)."""
    return {
        "format_version": str(CACHE_FORMAT_VERSION),
        "model_id": encoder.model_id,
        "revision": encoder.revision,
        "template": encoder.template,
        "instruction": instruction or "",
        "max_seq_length": str(encoder.max_seq_length),
        # bf16 on a GPU and fp32 on a CPU give different numbers: never reuse one for the other
        "device": str(encoder.device).split(":")[0],
        "dtype": str(getattr(encoder, "dtype", "unknown")),
        "normalize": str(bool(normalize)),
        "texts_sha256": texts_digest(texts),
        "n_texts": str(len(texts)),
    }


def _key_hash(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _array_checksum(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


class EmbeddingCache:
    """Embeddings on disk, one safetensors file per key; a bad file is recomputed, never used."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir() / "embeddings"

    @classmethod
    def in_cache_dir(cls, cache_dir: str | Path | None) -> EmbeddingCache:
        """The embeddings folder of a ``--cache-dir`` (None: the default cache folder)."""
        return cls(Path(cache_dir) / "embeddings" if cache_dir else None)

    def path_for(self, key: dict[str, str]) -> Path:
        return self.root / f"{_key_hash(key)}.safetensors"

    def load(self, key: dict[str, str]) -> np.ndarray | None:
        """The cached array for ``key``, or None when absent, truncated or corrupt."""
        from safetensors import safe_open

        path = self.path_for(key)
        if not path.exists():
            return None
        try:
            with safe_open(str(path), framework="numpy") as handle:
                meta = handle.metadata() or {}
                array = handle.get_tensor("embeddings")
            if any(meta.get(k) != v for k, v in key.items()):
                raise ValueError("key mismatch")
            if array.ndim != 2 or array.shape[0] != int(key["n_texts"]):
                raise ValueError(f"shape {array.shape}")
            if meta.get("sha256") != _array_checksum(array):
                raise ValueError("checksum mismatch")
        except Exception as err:  # any unreadable file is a cache miss
            logger.warning("Ignoring corrupt cache file %s (%s); recomputing.", path, err)
            return None
        return array

    def save(self, key: dict[str, str], array: np.ndarray) -> Path:
        """Write atomically: a temp file in the same folder, then rename into place."""
        from safetensors.numpy import save_file

        array = np.ascontiguousarray(array, dtype=np.float32)
        path = self.path_for(key)
        meta = {**key, "sha256": _array_checksum(array), "shape": json.dumps(list(array.shape))}
        atomic_write(path, lambda tmp: save_file({"embeddings": array}, tmp, metadata=meta))
        return path

    def encode(
        self,
        encoder: TextEncoder,
        texts: Sequence[str],
        *,
        instruction: str | None = None,
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
    ) -> tuple[np.ndarray, bool]:
        """Embeddings of ``texts`` from the cache, or encoded and stored; also whether it was a hit."""
        key = embedding_key(encoder, texts, instruction)
        cached = self.load(key)
        if cached is not None:
            if progress is not None:
                progress(len(texts), len(texts))
            return cached, True
        array = encoder.encode(
            list(texts), instruction=instruction, batch_size=batch_size, progress=progress
        )
        try:
            self.save(key, array)
        except OSError as err:  # a read-only or misnamed cache must not lose the computed embeddings
            logger.warning("Cannot write the embedding cache at %s (%s); going on without caching. "
                           "Set INSTRUCTLIN_CACHE (or --cache-dir) to a writable folder.", self.root, err)
        return array, False

    def entries(self) -> list[dict[str, str]]:
        """Metadata of every readable cached file (for listing what is cached)."""
        from safetensors import safe_open

        found = []
        for path in sorted(self.root.glob("*.safetensors")):
            try:
                with safe_open(str(path), framework="numpy") as handle:
                    meta = dict(handle.metadata() or {})
            except Exception:
                continue
            meta["file"] = path.name
            meta["bytes"] = str(path.stat().st_size)
            found.append(meta)
        return found
