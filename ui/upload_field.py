"""An uploaded file checked (not empty, under the size limit) and kept in the size-capped upload store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from instructlin.cli.options import MAX_UPLOAD_MB
from ui import state
from ui.text import plain


def keep(upload: Any, *, empty_hint: str, too_large_hint: str) -> tuple[Path, str]:
    """Store ``upload`` (a ``st.file_uploader`` value): its stored path and the user's file name. An empty or
    too large file ends the page with an error naming it and the hint."""
    content, name = upload.getvalue(), upload.name
    if not content:
        st.error(f"{plain(name)} is empty (0 bytes). {empty_hint}")
        st.stop()
    if len(content) > state.MAX_UPLOAD_BYTES:
        st.error(f"{plain(name)} is {len(content) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. {too_large_hint}")
        st.stop()
    return state.save_upload(name, content), name
