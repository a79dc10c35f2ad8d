"""The app's pages, listed once: Home first, then the steps in the order a user takes them.

``app.py`` hands :func:`pages` to ``st.navigation``. To add a page, add one line to ``STEPS`` (its URL path
is the part after the server's address, e.g. ``/Data``). The page scripts live in ``app_pages/``, not
``pages/``: Streamlit lists a ``pages/`` folder by itself until ``st.navigation`` has run.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import streamlit as st
from streamlit.navigation.page import StreamlitPage

#: The browser tab's icon, set before ``st.navigation`` runs: an emoji is drawn inline, while a page's
#: ``:material/...:`` icon as the tab icon would be fetched from a font host, which fails offline.
FAVICON = "🧭"


class Step(NamedTuple):
    """One page after Home: its script, title, icon and URL path."""

    script: str
    title: str
    icon: str
    url_path: str


STEPS: list[Step] = [
    Step("app_pages/1_Data.py", "Data", ":material/table_view:", "Data"),
    Step("app_pages/2_Embeddings.py", "Embeddings", ":material/scatter_plot:", "Embeddings"),
    Step("app_pages/3_Train.py", "Train", ":material/model_training:", "Train"),
    Step("app_pages/4_Compare.py", "Compare", ":material/compare:", "Compare"),
    Step("app_pages/5_Timing.py", "Timing", ":material/timer:", "Timing"),
    Step("app_pages/6_Vectors.py", "Your vectors", ":material/upload_file:", "Vectors"),
]


#: The "Loading" line of this script run (each session's script runs on its own thread).
_LOADING = threading.local()


def run(page: StreamlitPage) -> None:
    """Run the chosen page under a "Loading" line, so a first visit's imports never leave a blank page;
    the page removes it with :func:`loaded` once it draws."""
    _LOADING.note = st.empty()
    _LOADING.note.caption("Loading instructlin...")
    try:
        page.run()
    finally:  # a page that stops early (st.stop: waiting for an upload) still removes the line
        loaded()


def loaded() -> None:
    """Remove the "Loading" line (called by every page once its imports are done)."""
    note = getattr(_LOADING, "note", None)
    if note is not None:
        note.empty()
        _LOADING.note = None


def home() -> None:
    """The Home page; its heavy imports happen here, under the "Loading" line."""
    from ui import home as page

    page.render()


def pages() -> list[st.Page]:
    """Home (the default page, at ``/``) and every step, in order."""
    return [st.Page(home, title="Home", icon=":material/home:", default=True),
            *(st.Page(s.script, title=s.title, icon=s.icon, url_path=s.url_path) for s in STEPS)]
