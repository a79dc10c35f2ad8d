"""Timing: what a new instruction costs (teacher pass on the train part + fit + map) against re-encoding,
and where one base encode + maps breaks even. A live encoder is clocked on this device; on the teacher pack
nothing is encoded, so the teacher's encode time is the one the pack records."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.summaries import cost_summary, first_break_even
from ui import cached, figures, page, state, timing_view
from ui.text import plain

page.setup("Timing")

on_pack = state.on_pack()
if not on_pack:
    state.widget(st.sidebar.number_input, "Texts to time (a sample of the test part)", "timing_max_texts",
                 min_value=8, max_value=4096, step=8)
    state.widget(st.sidebar.number_input, "Repeats (median)", "timing_repeats", min_value=1, max_value=9)
n_max = st.sidebar.slider("Instructions on the break-even chart", 2, 100, 20, key="n_max")

config = page.current_config()
name = page.teacher_name(config)
found = timing_view.clocked(config, page.teacher(config))
cost = cost_summary(found)

how = " (recorded)" if on_pack else ""
n_train, n_test = found.n_train, found.n_test
cols = st.columns(3)
cols[0].metric("New instruction (instructlin)", f"{cost.instructlin_s:.2f} s")
cols[1].metric(f"Re-encoding all {n_train + n_test} texts", f"{cost.reencode_s:.2f} s")
cols[2].metric("Speed-up", f"{cost.speedup:.1f}×")
where = (f"the teacher's encode time recorded in the pack, fit and map on this server's {found.device}" if on_pack
         else f"every step clocked on {found.device}")
st.caption(f"Teacher {plain(name)}; {where}.")
st.markdown(f"A new instruction costs the teacher's pass with the instruction over the {n_train} training texts "
            f"(**{cost.teacher_train_s:.2f} s**{', recorded' if on_pack else ''}) + the fit "
            f"(**{cost.seconds['fit']:.2f} s**) + mapping the other {n_test} texts "
            f"(**{cost.seconds['map'] * 1e3:.2f} ms**), against re-encoding all {n_train + n_test} texts with "
            "the instruction.")
labels = {"encode_base": f"base encode, test part{how}", "encode_instructed": f"re-encode, test part{how}",
          "fit": "fit map", "map": "map test part"}
st.plotly_chart(figures.timing_bars({labels[k]: v for k, v in cost.seconds.items()}), key="timing_bars")
st.caption(f"Instruction `{found.aspect}`, {n_test} test texts, fit on {n_train} (split seed {config.seed}), "
           f"method `{config.method}`; teacher {plain(name)}.")
timing_view.map_alone(cost, how=how)

st.subheader("Break-even: how many instructions until mapping pays off?")
curves = cached.break_even(config.timing_spec(found.aspect), n_max)
st.plotly_chart(figures.break_even(curves["n"], curves["reencode"], curves["instructlin"]), key="break_even")
first = first_break_even(curves["n"], curves["reencode"], curves["instructlin"])
st.markdown(f"One base encode + N maps is cheaper from **N = {first}** instructions on." if first is not None
            else f"Within {n_max} instructions, re-encoding stays cheaper on this corpus.")
st.caption(f"Teacher {plain(name)}; the same timings as above.")
timing_view.every_timing(found)
