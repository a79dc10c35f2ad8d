"""The Embeddings page's choices: the live encoder, and one instruction per label column (the pack's own
instructions on the pack, a preset or free text on a live encoder)."""

from __future__ import annotations

import streamlit as st

from ui import access, page, state
from ui.text import code

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


def instructions(aspects: list[str]) -> None:
    """One instruction per label column, from the pack or for the live encoder."""
    (pack_instructions if state.on_pack() else live_instructions)(aspects)


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
