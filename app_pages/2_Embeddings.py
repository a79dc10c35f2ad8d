"""Embeddings: the teacher pack's precomputed sets, or a live encoder with one instruction per label column
(encoded with progress, or read from the cache)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from instructlin.cli.options import DEVICE_CHOICES
from instructlin.core.metrics import cosine_summary
from instructlin.sources.cache import EmbeddingCache
from ui import access, cached, page, state
from ui.text import code, plain

page.setup("Embeddings")

OTHER = "another model (folder or hub id)"
ENCODERS = (*access.NAMED_ENCODERS, OTHER)
CUSTOM = "(free text)"


def _encoder_chosen() -> None:
    """Keep a named encoder as the choice before the rerun, so the header drawn above shows it at once."""
    if st.session_state["w:encoder_choice"] != OTHER:
        state.put("encoder", st.session_state["w:encoder_choice"])


def _encoder_typed() -> None:
    typed = st.session_state["w:encoder_text"].strip()
    if typed and access.encoder_refusal(typed) is None:
        state.put("encoder", typed)


def choose_encoder() -> None:
    """The live encoder: a named one, or (where the operator allows) a folder or hub id."""
    name = state.get("encoder")
    if "w:encoder_choice" not in st.session_state:
        st.session_state["w:encoder_choice"] = name if name in ENCODERS else OTHER
    choice = st.sidebar.selectbox("Encoder", ENCODERS, key="w:encoder_choice", on_change=_encoder_chosen,
                                  help="auto: Qwen3-Embedding-0.6B when it can be had, else MiniLM (offline).")
    if choice != OTHER:
        state.put("encoder", choice)
        return
    if not access.custom_encoders_enabled():
        st.info(access.ENCODER_HELP, icon=":material/lock:")
        st.stop()
    typed = st.sidebar.text_input("Model folder or hub id (sentence-transformers)", key="w:encoder_text",
                                  value="" if name in ENCODERS else name, on_change=_encoder_typed).strip()
    if not typed:
        st.info("Name a sentence-transformers model in the sidebar, or pick a named encoder.")
        st.stop()
    refusal = access.encoder_refusal(typed)
    if refusal is not None:
        st.error(f"{code(typed)} cannot be loaded on this server. {refusal}")
        st.stop()
    state.put("encoder", typed)


def pack_instructions(aspects: list[str]) -> None:
    """One of the pack's instructions per label column: those its manifest marks as meant for that labelling."""
    pack = page.teacher(page.current_config())
    chosen = dict(state.get("pack_instructions"))
    for aspect in aspects:
        options = list(pack.instructions_for(aspect))
        if not options:
            st.error(f"The pack has no instruction meant for {code(aspect)} (its manifest's labelling); add one "
                     "with `instructlin embed --instruction ...` and list it with that labelling.")
            st.stop()
        current = dict(state.instructions_for([aspect]))[aspect]
        chosen[aspect] = st.selectbox(f"{code(aspect)}: instruction given to the teacher", options,
                                      index=options.index(current) if current in options else 0,
                                      key=f"w:pack:{aspect}")
    state.put("pack_instructions", chosen)


def live_instructions(aspects: list[str]) -> None:
    """A preset or a free-text instruction per label column."""
    chosen = dict(state.get("instructions"))
    for aspect in aspects:
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


def show_shift(config) -> None:
    """How far each instruction moves the teacher's embeddings from the base ones."""
    found = cached.embeddings(config.embedding_spec())
    shifts = {a: cosine_summary(found.base, found.instructed[a])["mean"] for a in found.instructed}
    st.markdown(f"**Mean cosine of instructed to base embeddings**, {plain(page.teacher_name(config))}, all "
                f"{len(found.base)} texts (1.0 = the instruction changed nothing): "
                + " · ".join(f"{code(a)} {c:.3f}" for a, c in shifts.items()))


on_pack = state.on_pack()
if not on_pack:
    choose_encoder()
state.widget(st.sidebar.selectbox, "Device", "device", options=DEVICE_CHOICES,
             help="Where the map is fitted" + ("." if on_pack else ", and where the encoder runs."))

base_config = page.current_config()
data = cached.dataset(base_config.data_spec())
page.encoder_note(base_config)

st.subheader("One instruction per label column")
if on_pack:
    pack_instructions(data.aspects)
else:
    live_instructions(data.aspects)
config = page.current_config()

if on_pack:
    pack = page.teacher(config)
    where = f"{pack.folder.parent.name}/{pack.folder.name}"  # as a checkout names it, not the server's path
    with page.guard("Reading the pack"):
        show_shift(config)
    st.subheader("What the pack holds")
    st.dataframe(pd.DataFrame([{"file": f.file, "instruction": f.instruction or "(none: base)",
                                "labelling": f.labelling or "", "rows × dim": f"{f.shape[0]} × {f.shape[1]}"}
                               for f in pack.files]), hide_index=True)
    st.caption(f"Precomputed by {plain(pack.model_id)} on {plain(pack.device)}, prompt template {code(pack.template)}, "
               f"at most {pack.max_seq_length} tokens per text; read from {code(where)}, each file checked "
               "against the SHA-256 in its manifest.json and the texts against the demo corpus. Nothing is encoded "
               "on this server; for another model or other data, choose a live encoder under *Embeddings from*.")
    st.stop()

with page.guard("Loading the encoder"):
    encoder = cached.encoder(config.encoder_spec())
cache = EmbeddingCache.in_cache_dir(config.cache_dir)
have = cached.stored(config.embedding_spec())
in_cache = st.empty()


def show_cached(found: dict[str, bool]) -> None:
    in_cache.markdown("**In the cache for these texts:** " + " · ".join(
        f"{code(label)} {'cached' if ok else 'missing'}" for label, ok in found.items()))


show_cached(have)
if all(have.values()):
    st.success("Everything is cached; the other pages load it instantly.")
elif st.button("Compute embeddings", type="primary", key="encode"):
    page.ensure_embeddings(config)
    have = cached.stored(config.embedding_spec())
    show_cached(have)  # what was just computed is cached now
    st.success(f"Encoded and cached {len(data)} texts × {len(have)} sets on `{encoder.device}`.")
else:
    n_missing = sum(not ok for ok in have.values()) * len(data)
    st.info(f"{n_missing} texts to encode (about 10–30 texts/s on a CPU). Press **Compute embeddings**; "
            "the other pages also encode what is missing when they need it.")

if all(have.values()):
    show_shift(config)

st.subheader("What is cached on disk")
entries = cache.entries()
if entries:
    table = pd.DataFrame(entries)
    show = [c for c in ("model_id", "instruction", "n_texts", "max_seq_length", "bytes", "file")
            if c in table]
    st.dataframe(table[show], hide_index=True)
else:
    st.caption(f"Nothing cached yet in `{cache.root}`.")
