"""Home's cost section: the recorded speed-up of a new instruction first, the live clock as a detail."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.experiment import ExperimentConfig
from instructlin.pipeline.recorded_costs import read_recorded_speedup
from instructlin.pipeline.summaries import cost_summary
from instructlin.sources.packs import Pack
from ui import cached, page
from ui.text import plain


def lead(instructlin_s: float, reencode_s: float, n_texts: int, how: str) -> None:
    """The three numbers the cost section leads with; ``how`` says where the figure comes from."""
    cols = st.columns(3)
    cols[0].metric("New instruction (instructlin)", f"{instructlin_s:.1f} s")
    cols[1].metric(f"Re-encoding all {n_texts} texts", f"{reencode_s:.0f} s")
    cols[2].metric(f"Speed-up ({how})", f"{reencode_s / instructlin_s:.1f}×")


def cost(pack: Pack, config: ExperimentConfig, aspect: str) -> None:
    """The recorded cost of a new instruction first (reproducible); the live clock and the map alone as details."""
    if pack.seconds_per_text is None:
        st.info(f"{pack.name}'s encode time is not recorded in this pack (encode_seconds_per_text in its "
                "manifest), so the cost of a new instruction cannot be given here; the Timing page measures it "
                "for the live encoder.")
        return
    record = read_recorded_speedup(pack.folder)
    if record is not None:
        lead(record.instructlin_seconds, record.reencode_seconds, record.n_texts, "recorded")
        st.markdown(f"A new instruction costs the teacher's pass over the {record.train_texts} training texts "
                    f"(**{record.teacher_seconds_per_text * record.train_texts:.1f} s**) + fitting the map "
                    f"(**{record.fit_seconds:.2f} s**, selection included) + mapping the other "
                    f"{record.n_texts - record.train_texts} texts (**{record.map_seconds * 1e3:.1f} ms**), against "
                    f"re-encoding all {record.n_texts} texts with the teacher.")
        st.caption(f"Recorded, not clocked here: {pack.name} on the {record.split} split; {plain(record.measured)} "
                   "(`python benchmarks/record_speedup.py --teacher DIR` measures it again).")
    with page.guard("Timing the map"):
        timed = cached.timings(config.timing_spec(aspect))
    found = cost_summary(timed)
    n_train, n_test = timed.n_train, timed.n_test
    fit_s, map_s = found.seconds["fit"], found.seconds["map"]
    live = (f"Clocked here, now: the fit above took **{fit_s:.2f} s** (next to the other instruction's) and "
            f"mapping the {n_test} test texts **{map_s * 1e3:.1f} ms**; with the teacher's "
            f"{pack.seconds_per_text:.3f} s per text from the pack ({plain(pack.timing_note)}), a new instruction "
            f"costs **{found.instructlin_s:.1f} s** against **{found.reencode_s:.0f} s**: "
            f"**{found.speedup:.1f}×**. This figure moves with this machine's load.")
    if record is None:
        lead(found.instructlin_s, found.reencode_s, n_train + n_test, "clocked here")
        st.markdown(live)
    else:
        with st.expander("Detail: the same, clocked here now"):
            st.markdown(live)
    with st.expander("Detail: the map alone"):
        st.markdown(f"Mapping the {n_test} test texts takes {map_s * 1e3:.1f} ms against "
                    f"{found.seconds['encode_instructed']:.0f} s to re-encode them with the teacher: "
                    f"**{found.map_speedup:,.0f}×**. That figure leaves out the teacher pass and the fit the map "
                    "needs, so the speed-up above is the one to quote.")
