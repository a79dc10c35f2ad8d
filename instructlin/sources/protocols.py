"""What the cache and the pipeline need of an encoder, named once as a Protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

#: ``progress(done, total)`` while texts are encoded.
ProgressCallback = Callable[[int, int], None]



@runtime_checkable
class TextEncoder(Protocol):
    """An encoder the embedding cache can key and the stages can run: these facts plus ``encode``.

    ``instructlin.sources.encoders.Encoder`` (sentence-transformers) is one; the tests' planted encoder is another.
    """

    model_id: str
    revision: str
    template: str
    instruction_tuned: bool | None

    @property
    def dim(self) -> int: ...

    @property
    def device(self) -> str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def max_seq_length(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        instruction: str | None = None,
        batch_size: int = 32,
        normalize: bool = True,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray: ...

    def describe(self) -> str: ...
