"""What a Streamlit element shows a reader: its Markdown with backslash escapes undone."""

from __future__ import annotations

import re


def shown(element) -> str:
    """The text of an AppTest element as rendered (``ui.text.plain`` escapes punctuation in messages)."""
    return re.sub(r"\\(.)", r"\1", element.value)
