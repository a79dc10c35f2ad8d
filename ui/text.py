"""Visitor-supplied text (file names, column names, paths) made safe to put inside Streamlit Markdown."""

from __future__ import annotations

import re
import string

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation)}])")


def plain(text: object) -> str:
    """``text`` with every ASCII punctuation mark backslash-escaped, so Markdown shows it as typed (no links)."""
    return _PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", str(text)))


def code(text: object) -> str:
    """``text`` as an inline code span it cannot break out of (fenced by more backticks than it holds)."""
    value = _CONTROL.sub(" ", str(text))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"
