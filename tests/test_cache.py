"""The embedding cache: content keys, hits, atomic writes and corrupt files."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from instructlin.atomic import TEMP_PREFIX
from instructlin.sources.cache import EmbeddingCache, embedding_key

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
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []


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
        with caplog.at_level(logging.WARNING, logger="instructlin.sources.cache"):
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


_RACE_WRITER = """
import json, sys, time
from pathlib import Path
import numpy as np
from instructlin.sources.cache import EmbeddingCache
root, key = sys.argv[1], json.loads(sys.argv[2])
writer, rounds, rows = (int(a) for a in sys.argv[3:6])
cache = EmbeddingCache(root)
array = np.random.default_rng(writer).normal(size=(rows, 384)).astype(np.float32)
Path(root, f"ready-{writer}").touch()
while not Path(root, "go").exists():
    time.sleep(0.005)
for _ in range(rounds):
    cache.save(key, array)
"""


class _RaceEncoder:
    """Just what embedding_key reads from an encoder."""

    model_id = "race/model"
    revision = "1"
    template = "{instruction} "
    max_seq_length = 128
    device = "cpu"
    dtype = "float32"


def test_two_writers_at_once_leave_one_valid_file(tmp_path, caplog):
    """Two processes (two app sessions, or the app and the CLI) keep rewriting one key with large, different
    arrays while this process reads it: every read is one writer's whole array, never a torn or mixed
    file, and no temp file is left over. A cache that wrote straight to the final path fails this."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import instructlin

    rows, rounds, writers = 2000, 40, (1, 2)
    texts = [f"text {i}" for i in range(rows)]
    key = embedding_key(_RaceEncoder(), texts, "race")
    arrays = {w: np.random.default_rng(w).normal(size=(rows, 384)).astype(np.float32) for w in (0, *writers)}
    cache = EmbeddingCache(tmp_path)
    cache.save(key, arrays[0])  # a whole file exists before the race starts
    package_root = str(Path(instructlin.__file__).resolve().parents[1])  # the writers import this very package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-c", _RACE_WRITER, str(tmp_path), json.dumps(key), str(w),
                               str(rounds), str(rows)], env=env) for w in writers]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{w}").exists() for w in writers):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer did not start"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        reads, seen = 0, set()
        with caplog.at_level(logging.WARNING, logger="instructlin.sources.cache"):
            while any(p.poll() is None for p in procs):
                got = cache.load(key)
                assert got is not None, f"read {reads}: a torn or half-written file ({caplog.text.strip()})"
                writer = next((w for w, a in arrays.items() if got[0, 0] == a[0, 0]), None)
                assert writer is not None, "a file that no writer wrote"
                np.testing.assert_array_equal(got, arrays[writer])  # one writer's whole array, not a mix
                reads, seen = reads + 1, seen | {writer}
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert reads >= 5 and seen & set(writers), f"{reads} reads, of {seen}: the race was not exercised"
    final = cache.load(key)
    assert final is not None and any(np.array_equal(final, arrays[w]) for w in writers)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)) == []


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

        monkeypatch.setattr("instructlin.sources.cache.atomic_write", refuse)
    with caplog.at_level(logging.WARNING, logger="instructlin.sources.cache"):
        array, hit = EmbeddingCache(root).encode(minilm, TEXTS, instruction="topic?")
    assert array.shape == (3, minilm.dim) and not hit
    assert "going on without caching" in caplog.text
    assert not list(tmp_path.rglob("*.safetensors"))
