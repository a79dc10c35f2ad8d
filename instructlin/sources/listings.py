"""What a corpus, a pack and the embedding cache hold, as the tables a reader looks at (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from instructlin.sources.text_dataset import TextDataset

if TYPE_CHECKING:
    import pandas as pd

    from instructlin.sources.packs import Pack

#: The columns of a cache entry worth showing, in this order (the rest are internal keys).
CACHE_COLUMNS = ("model_id", "instruction", "n_texts", "max_seq_length", "bytes", "file")


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut at ``max_chars`` characters, with an ellipsis where it was cut."""
    return text[:max_chars] + ("…" if len(text) > max_chars else "")


def example_rows(dataset: TextDataset, *, n: int = 8, seed: int = 0, max_chars: int = 300) -> pd.DataFrame:
    """A seeded sample of ``n`` rows: the text (shortened) and every label column."""
    import pandas as pd

    table = pd.DataFrame({"text": [shorten(t, max_chars) for t in dataset.texts], **dict(dataset.labels)})
    return table.sample(min(n, len(table)), random_state=seed)


def class_counts(labels: Mapping[str, Sequence[Any]]) -> dict[str, int]:
    """How many classes each label column has."""
    return {aspect: len(np.unique(np.asarray(values))) for aspect, values in labels.items()}


def pack_contents(pack: Pack) -> list[dict[str, str]]:
    """One row per array of a pack: file, instruction (the base set named), labelling, rows × dim."""
    return [{"file": f.file, "instruction": f.instruction or "(none: base)", "labelling": f.labelling or "",
             "rows × dim": f"{f.shape[0]} × {f.shape[1]}"} for f in pack.files]


def cache_listing(entries: Sequence[Mapping[str, str]]) -> pd.DataFrame:
    """The embedding cache's entries (``EmbeddingCache.entries``) with the columns a reader needs."""
    import pandas as pd

    table = pd.DataFrame(list(entries))
    return table[[c for c in CACHE_COLUMNS if c in table]]
