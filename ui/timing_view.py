"""The Timing page's clock: on a pack the teacher's recorded encode time, on a live encoder a measurement
started by a button (once per config); and the detail of the map alone."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.experiment import ExperimentConfig
from instructlin.pipeline.stage_results import Timings
from instructlin.pipeline.summaries import CostSummary
from instructlin.sources.packs import Pack
from instructlin.sources.protocols import TextEncoder
from ui import cached, page
from ui.text import plain


def clocked(config: ExperimentConfig, teacher: TextEncoder | Pack) -> Timings:
    """The timings of the config's first instruction; the page ends with what to do where there are none yet."""
    if isinstance(teacher, Pack):
        if teacher.seconds_per_text is None:
            st.info(f"{plain(teacher.name)}'s encode time is not recorded in its pack (encode_seconds_per_text in "
                    "manifest.json), so there is nothing to compare the map with; choose a live encoder under "
                    "*Embeddings from* to clock one here.")
            st.stop()
        st.caption(f"Encoding is **recorded, not clocked here**: {teacher.seconds_per_text:.3f} s per text for "
                   f"{plain(teacher.name)} ({plain(teacher.timing_note)}). The fit is the one the map took when it "
                   "ran here; the map is clocked here (median of 21 runs).")
    else:
        st.caption("Encoding is timed on the sample and scaled to the whole test part; fit and map use all rows. "
                   "Each step is warmed up first and reported as the median of the repeats.")
        if config not in st.session_state.setdefault("timed", set()) and \
                not st.button("Measure timings", type="primary", key="measure"):
            st.info(f"Press **Measure timings** to clock the encoder on a sample: about "
                    f"{2 * config.timing_repeats + 1} encodes of {config.timing_max_texts} test texts (under a minute "
                    "on a CPU for the default 64), then the fit and the map. The embeddings already in the cache "
                    "are read, not encoded again.")
            st.stop()
        page.ensure_embeddings(config)
    with st.spinner("Timing encode, re-encode, fit and map..."), page.guard("Timing"):
        found = cached.timings(config.timing_spec(cached.pairs(config)[0][0]))
    if not isinstance(teacher, Pack):
        st.session_state["timed"].add(config)
    return found


def map_alone(cost: CostSummary, *, how: str) -> None:
    """Mapping against re-encoding the same texts, in an expander (the headline speed-up is the one to quote)."""
    with st.expander("Detail: the map alone"):
        cols = st.columns(3)
        cols[0].metric(f"Re-encode the test part{how}", f"{cost.seconds['encode_instructed']:.2f} s")
        cols[1].metric("Map the test part", f"{cost.seconds['map'] * 1e3:.2f} ms")
        cols[2].metric("Map speed-up", f"{cost.map_speedup:,.0f}×")
        st.caption("Mapping alone against re-encoding the same texts: it leaves out the teacher pass over the "
                   "training texts and the fit, so quote the speed-up above.")


def every_timing(found: Timings) -> None:
    """Each step's median, every repeat and the parameters it ran with, as JSON."""
    with st.expander("Every timing with its parameters"):
        st.json({k: {"median_s": v.median_s, "times_s": v.times_s, **v.params}
                 for k, v in found.steps.items()}, expanded=False)
