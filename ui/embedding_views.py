"""What the Embeddings page shows of the embeddings: how far each instruction moves them, what the pack
holds, and what the disk cache holds (with the button that fills it)."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.experiment import ExperimentConfig
from instructlin.pipeline.summaries import instruction_shift
from instructlin.sources.cache import EmbeddingCache
from instructlin.sources.listings import cache_listing, pack_contents
from instructlin.sources.packs import Pack
from ui import cached, page
from ui.text import code, plain


def shift(config: ExperimentConfig) -> None:
    """How far each instruction moves the teacher's embeddings from the base ones."""
    found = cached.embeddings(config.embedding_spec())
    shifts = instruction_shift(found)
    st.markdown(f"**Mean cosine of instructed to base embeddings**, {plain(page.teacher_name(config))}, all "
                f"{len(found.base)} texts (1.0 = the instruction changed nothing): "
                + " · ".join(f"{code(a)} {c:.3f}" for a, c in shifts.items()))


def pack_files(config: ExperimentConfig, pack: Pack) -> None:
    """The pack's arrays and where they come from; nothing is encoded on the pack."""
    where = f"{pack.folder.parent.name}/{pack.folder.name}"  # as a checkout names it, not the server's path
    with page.guard("Reading the pack"):
        shift(config)
    st.subheader("What the pack holds")
    st.dataframe(pack_contents(pack), hide_index=True)
    st.caption(f"Precomputed by {plain(pack.model_id)} on {plain(pack.device)}, prompt template {code(pack.template)}, "
               f"at most {pack.max_seq_length} tokens per text; read from {code(where)}, each file checked "
               "against the SHA-256 in its manifest.json and the texts against the demo corpus. Nothing is encoded "
               "on this server; for another model or other data, choose a live encoder under *Embeddings from*.")


def cache_state(config: ExperimentConfig, n_texts: int) -> None:
    """Which sets the cache holds, and a button that encodes the missing ones (with progress)."""
    with page.guard("Loading the encoder"):
        encoder = cached.encoder(config.encoder_spec())
    have = cached.stored(config.embedding_spec())
    in_cache = st.empty()

    def show(found: dict[str, bool]) -> None:
        in_cache.markdown("**In the cache for these texts:** " + " · ".join(
            f"{code(label)} {'cached' if ok else 'missing'}" for label, ok in found.items()))

    show(have)
    if all(have.values()):
        st.success("Everything is cached; the other pages load it instantly.")
    elif st.button("Compute embeddings", type="primary", key="encode"):
        page.ensure_embeddings(config)
        have = cached.stored(config.embedding_spec())
        show(have)  # what was just computed is cached now
        st.success(f"Encoded and cached {n_texts} texts × {len(have)} sets on `{encoder.device}`.")
    else:
        n_missing = sum(not ok for ok in have.values()) * n_texts
        st.info(f"{n_missing} texts to encode (about 10–30 texts/s on a CPU). Press **Compute embeddings**; "
                "the other pages also encode what is missing when they need it.")
    if all(have.values()):
        shift(config)


def cache_files(config: ExperimentConfig) -> None:
    """Every file of the embedding cache."""
    cache = EmbeddingCache.in_cache_dir(config.cache_dir)
    st.subheader("What is cached on disk")
    entries = cache.entries()
    if entries:
        st.dataframe(cache_listing(entries), hide_index=True)
    else:
        st.caption(f"Nothing cached yet in `{cache.root}`.")
