"""The embedding cache: content keys, hits, atomic writes and corrupt files."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from instructlin.cache import EmbeddingCache, embedding_key

from .reliability import Case, params

TEXTS = ["Rain is expected over the coast.", "Shares fell sharply on Monday.", "A new museum opened."]


class CountingEncoder:
    """Wraps a real encoder and counts the texts it encodes."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, **kwargs):
        self.calls += len(texts)
        return self.inner.encode(texts, **kwargs)


def test_second_run_encodes_nothing(tmp_path, minilm):
    encoder, cache = CountingEncoder(minilm), EmbeddingCache(tmp_path)
    first, hit1 = cache.encode(encoder, TEXTS, instruction="topic?")
    second, hit2 = cache.encode(encoder, TEXTS, instruction="topic?")
    assert (hit1, hit2) == (False, True) and encoder.calls == 3
    np.testing.assert_array_equal(first, second)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_key_changes_with_texts_instruction_and_length(minilm):
    key = embedding_key(minilm, TEXTS, "a")
    assert key != embedding_key(minilm, TEXTS, "b")
    assert key != embedding_key(minilm, TEXTS[::-1], "a")
    assert key != embedding_key(minilm, [TEXTS[0] + TEXTS[1], TEXTS[2]], "a")
    assert key["format_version"] == "1" and key["n_texts"] == "3"


def test_corrupt_or_truncated_file_is_recomputed_with_a_warning(tmp_path, minilm, caplog):
    encoder, cache = CountingEncoder(minilm), EmbeddingCache(tmp_path)
    good, _ = cache.encode(encoder, TEXTS)
    path = cache.path_for(embedding_key(minilm, TEXTS, None))
    raw = path.read_bytes()
    for damaged in (raw[: len(raw) // 2], raw[:-8] + b"\x00" * 8):
        path.write_bytes(damaged)
        with caplog.at_level(logging.WARNING, logger="instructlin.cache"):
            again, hit = cache.encode(encoder, TEXTS)
        assert hit is False and "corrupt cache file" in caplog.text
        np.testing.assert_allclose(again, good, atol=1e-6)
        caplog.clear()
    assert encoder.calls == 9
    assert cache.load(embedding_key(minilm, TEXTS, None)) is not None


def test_entries_list_what_is_cached(tmp_path, minilm):
    cache = EmbeddingCache(tmp_path)
    cache.encode(minilm, TEXTS, instruction="where?")
    (entry,) = cache.entries()
    assert entry["instruction"] == "where?" and entry["n_texts"] == "3" and int(entry["bytes"]) > 3 * 384 * 4


def test_two_writers_at_once_leave_one_valid_file(tmp_path, minilm):
    """Two app sessions (threads here) encoding the same texts race on one key: both get the
    embeddings, the file left behind reads back whole, and no temp file is left over."""
    from concurrent.futures import ThreadPoolExecutor

    cache = EmbeddingCache(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: cache.encode(minilm, TEXTS, instruction="race")[0], range(2)))
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    stored = cache.load(embedding_key(minilm, TEXTS, "race"))
    assert stored is not None and stored.shape == (3, 384)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []


class Precision:
    """A real encoder seen as if it ran elsewhere: another device or dtype, same model and texts."""

    def __init__(self, inner, device: str, dtype: str):
        self.inner, self.device, self.dtype = inner, device, dtype

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_key_holds_device_and_dtype_so_gpu_bf16_is_never_reused_on_cpu(minilm):
    assert minilm.dtype == "float32" and minilm.device == "cpu"
    here = embedding_key(minilm, TEXTS, "topic?")
    gpu_bf16 = embedding_key(Precision(minilm, "cuda:0", "bfloat16"), TEXTS, "topic?")
    assert (here["device"], here["dtype"]) == ("cpu", "float32")
    assert (gpu_bf16["device"], gpu_bf16["dtype"]) == ("cuda", "bfloat16")
    assert EmbeddingCache().path_for(here) != EmbeddingCache().path_for(gpu_bf16)


UNWRITABLE_CASES = [
    Case("INSTRUCTLIN_CACHE pointing at a file", "embedding cache (every command)",
         "warning; the computed embeddings are kept and returned", {"kind": "file"}),
    Case("a read-only cache folder", "embedding cache (every command)",
         "warning; the computed embeddings are kept and returned", {"kind": "read-only"}),
]


@pytest.mark.parametrize("case", params(UNWRITABLE_CASES))
def test_unwritable_cache_warns_and_keeps_the_embeddings(case, tmp_path, minilm, caplog, monkeypatch):
    if case.data["kind"] == "file":
        (tmp_path / "a_file").write_text("x")
        root = tmp_path / "a_file" / "embeddings"
    else:
        root = tmp_path / "ro"
        root.mkdir()
        root.chmod(0o555)

        def refuse(target, write):  # tests may run as root, whom chmod does not stop: refuse as the OS would
            raise PermissionError(13, "Permission denied", str(target))

        monkeypatch.setattr("instructlin.cache.atomic_write", refuse)
    with caplog.at_level(logging.WARNING, logger="instructlin.cache"):
        array, hit = EmbeddingCache(root).encode(minilm, TEXTS, instruction="topic?")
    assert array.shape == (3, minilm.dim) and not hit
    assert "going on without caching" in caplog.text
    assert not list(tmp_path.rglob("*.safetensors"))
