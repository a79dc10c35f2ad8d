"""Embeddings: encoder, device, one instruction per label column; encode with progress or load the cache."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from instructlin.cache import EmbeddingCache
from instructlin.metrics import cosine_summary
from instructlin.options import DEVICE_CHOICES
from ui import access, cached, page, state
from ui.text import code

page.setup("Embeddings")

OTHER = "another model (folder or hub id)"
ENCODERS = (*access.NAMED_ENCODERS, OTHER)
CUSTOM = "(free text)"

name = state.get("encoder")
if "w:encoder_choice" not in st.session_state:
    st.session_state["w:encoder_choice"] = name if name in ENCODERS else OTHER
choice = st.sidebar.selectbox("Encoder", ENCODERS, key="w:encoder_choice",
                              help="auto: Qwen3-Embedding-0.6B when it can be had, else MiniLM (offline).")
if choice == OTHER:
    if not access.custom_encoders_enabled():
        st.info(access.ENCODER_HELP, icon=":material/lock:")
        st.stop()
    typed = st.sidebar.text_input("Model folder or hub id (sentence-transformers)", key="w:encoder_text",
                                  value="" if name in ENCODERS else name).strip()
    if not typed:
        st.info("Name a sentence-transformers model in the sidebar, or pick a named encoder.")
        st.stop()
    refusal = access.encoder_refusal(typed)
    if refusal is not None:
        st.error(f"{code(typed)} cannot be loaded on this server. {refusal}")
        st.stop()
    state.put("encoder", typed)
else:
    state.put("encoder", choice)
state.widget(st.sidebar.selectbox, "Device", "device", options=DEVICE_CHOICES)

base_config = page.current_config()
data = cached.dataset(base_config.data_spec())
page.encoder_note(base_config)

st.subheader("One instruction per label column")
chosen = dict(state.get("instructions"))
for aspect in data.aspects:
    current = chosen.get(aspect) or state.default_instruction(aspect)
    options = list(dict.fromkeys([*state.PRESETS, state.default_instruction(aspect)])) + [CUSTOM]
    key = f"w:preset:{aspect}"
    if key not in st.session_state:
        st.session_state[key] = current if current in options else CUSTOM
    left, right = st.columns([2, 3])
    preset = left.selectbox(f"{code(aspect)}: preset", options, key=key)
    if preset == CUSTOM:
        text = right.text_input(f"{code(aspect)}: your instruction", value=current, key=f"w:text:{aspect}")
    else:
        text = right.text_input(f"{code(aspect)}: instruction", value=preset, disabled=True,
                                key=f"w:shown:{aspect}:{preset}")
    if not text.strip():
        st.error(f"The instruction for {code(aspect)} is empty; write one (e.g. 'Identify the {aspect} "
                 "of the given text') or pick a preset.")
        st.stop()
    chosen[aspect] = text.strip()
state.put("instructions", chosen)
config = page.current_config()

with page.guard("Loading the encoder"):
    encoder = cached.encoder(config.encoder_spec())
cache = EmbeddingCache.in_cache_dir(config.cache_dir)
have = cached.stored(config.embedding_spec())
st.markdown("**In the cache for these texts:** " + " · ".join(
    f"{code(label)} {'cached' if ok else 'missing'}" for label, ok in have.items()))

if all(have.values()):
    st.success("Everything is cached; the other pages load it instantly.")
elif st.button("Compute embeddings", type="primary", key="encode"):
    page.ensure_embeddings(config)
    st.success(f"Encoded and cached {len(data)} texts × {len(have)} sets on `{encoder.device}`.")
else:
    n_missing = sum(not ok for ok in have.values()) * len(data)
    st.info(f"{n_missing} texts to encode (about 10–30 texts/s on a CPU). Press **Compute embeddings**; "
            "the other pages also encode what is missing when they need it.")

if all(have.values()) or st.session_state.get("encode"):
    found = cached.embeddings(config.embedding_spec())
    shifts = {a: cosine_summary(found.base, found.instructed[a])["mean"] for a in found.instructed}
    st.markdown("**Mean cosine of instructed to base embeddings** (1.0 = the instruction changed nothing): "
                + " · ".join(f"{code(a)} {c:.3f}" for a, c in shifts.items()))

st.subheader("What is cached on disk")
entries = cache.entries()
if entries:
    table = pd.DataFrame(entries)
    show = [c for c in ("model_id", "instruction", "n_texts", "max_seq_length", "bytes", "file")
            if c in table]
    st.dataframe(table[show], hide_index=True)
else:
    st.caption(f"Nothing cached yet in `{cache.root}`.")
