"""Which column of a user's table holds the texts: ``text`` where present, else the one whose values look
like sentences. A label column (short, repeated values) is never taken for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Sentence-like values: this long on average, this many words, and mostly different from row to row.
MIN_TEXT_CHARS, MIN_TEXT_WORDS, MIN_TEXT_VARIETY = 20, 3, 0.5


@dataclass(frozen=True)
class TextColumnGuess:
    """The guessed text column, or None with the reason none was guessed (names quoted as they are)."""

    column: str | None
    reason: str = ""


def guess_text_column(head: pd.DataFrame) -> TextColumnGuess:
    """``text`` if present, else the longest column of sentence-like values, else None and why none is."""
    import pandas as pd

    if "text" in head.columns:
        return TextColumnGuess("text")
    stats = {}
    for column in head.columns:
        values = head[column].dropna()
        if str(column) == "id" or values.empty or not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        values = values.astype(str)
        lengths = values.str.len()
        stats[str(column)] = (lengths.mean(), values.str.split().str.len().mean(), values.nunique() / len(values),
                              int(lengths.min()), int(lengths.max()), values.nunique())
    texty = [c for c, (chars, words, variety, *_) in stats.items()
             if chars >= MIN_TEXT_CHARS and words >= MIN_TEXT_WORDS and variety >= MIN_TEXT_VARIETY]
    if texty:
        return TextColumnGuess(max(texty, key=lambda c: stats[c][0]))
    if not stats:
        return TextColumnGuess(None, "No column holds strings, so none can be taken as the text.")
    longest = max(stats, key=lambda c: stats[c][0])
    _, _, _, low, high, distinct = stats[longest]
    return TextColumnGuess(None, f"No column looks like text (sentences of {MIN_TEXT_CHARS}+ characters that differ "
                                 f"from row to row), so none is guessed: the longest values, in {longest}, have "
                                 f"{low} to {high} characters, {distinct} different in the first {len(head)} rows.")
