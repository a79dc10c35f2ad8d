"""The instructlin app: ``streamlit run app.py``. Home first, then Data, Embeddings, Train, Compare, Timing."""

from __future__ import annotations

import streamlit as st

from ui.navigation import FAVICON, pages, run

st.set_page_config(page_icon=FAVICON)
run(st.navigation(pages()))
