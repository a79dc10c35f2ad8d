"""Embeddings: the teacher pack's precomputed sets, or a live encoder with one instruction per label column
(encoded with progress, or read from the cache)."""

from __future__ import annotations

import streamlit as st

from instructlin.cli.options import DEVICE_CHOICES
from ui import cached, embedding_views, instruction_choice, page, state

page.setup("Embeddings")

on_pack = state.on_pack()
if not on_pack:
    instruction_choice.choose_encoder()
state.widget(st.sidebar.selectbox, "Device", "device", options=DEVICE_CHOICES,
             help="Where the map is fitted" + ("." if on_pack else ", and where the encoder runs."))

base_config = page.current_config()
data = cached.dataset(base_config.data_spec())
page.encoder_note(base_config)

st.subheader("One instruction per label column")
instruction_choice.instructions(data.aspects)
config = page.current_config()

if on_pack:
    embedding_views.pack_files(config, page.teacher(config))
    st.stop()
embedding_views.cache_state(config, len(data))
embedding_views.cache_files(config)
