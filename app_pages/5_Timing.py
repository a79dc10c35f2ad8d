"""Timing: what a new instruction costs (teacher pass on the train part + fit + map) against re-encoding,
and where one base encode + maps breaks even. A live encoder is clocked on this device; on the teacher pack
nothing is encoded, so the teacher's encode time is the one the pack records."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.report import amortised_inputs, marginal_cost
from instructlin.sources.packs import Pack
from instructlin.timing import speedup_map_only
from ui import cached, figures, page, state
from ui.text import plain

page.setup("Timing")

on_pack = state.on_pack()
if not on_pack:
    state.widget(st.sidebar.number_input, "Texts to time (a sample of the test part)", "timing_max_texts",
                 min_value=8, max_value=4096, step=8)
    state.widget(st.sidebar.number_input, "Repeats (median)", "timing_repeats", min_value=1, max_value=9)
n_max = st.sidebar.slider("Instructions on the break-even chart", 2, 100, 20, key="n_max")

config = page.current_config()
teacher = page.teacher(config)
name = page.teacher_name(config)
if isinstance(teacher, Pack):
    if teacher.seconds_per_text is None:
        st.info(f"{plain(teacher.name)}'s encode time is not recorded in its pack (encode_seconds_per_text in "
                "manifest.json), so there is nothing to compare the map with; choose a live encoder under "
                "*Embeddings from* to clock one here.")
        st.stop()
    st.caption(f"Encoding is **recorded, not clocked here**: {teacher.seconds_per_text:.3f} s per text for "
               f"{plain(teacher.name)} ({plain(teacher.timing_note)}). The fit is the one the map took when it ran "
               "here; the map is clocked here (median of 21 runs).")
else:
    st.caption("Encoding is timed on the sample and scaled to the whole test part; fit and map use all rows. "
               "Each step is warmed up first and reported as the median of the repeats.")
    timed = st.session_state.setdefault("timed", set())
    if config not in timed and not st.button("Measure timings", type="primary", key="measure"):
        st.info(f"Press **Measure timings** to clock the encoder on a sample: about {2 * config.timing_repeats + 1} "
                f"encodes of {config.timing_max_texts} test texts (under a minute on a CPU for the default 64), "
                "then the fit and the map. The embeddings already in the cache are read, not encoded again.")
        st.stop()
    page.ensure_embeddings(config)
with st.spinner("Timing encode, re-encode, fit and map..."), page.guard("Timing"):
    found = cached.timings(config.timing_spec(cached.pairs(config)[0][0]))
if not on_pack:
    timed.add(config)

t = {step: timing.median_s for step, timing in found.steps.items()}
how = " (recorded)" if on_pack else ""
labels = {"encode_base": f"base encode, test part{how}", "encode_instructed": f"re-encode, test part{how}",
          "fit": "fit map", "map": "map test part"}
n_train, n_test = found.n_train, found.n_test
cost = marginal_cost(found.steps, n_train=n_train, n_test=n_test)
teacher_train = amortised_inputs(found.steps, n_train=n_train, n_test=n_test)["encode_instructed_train_s"]
cols = st.columns(3)
cols[0].metric("New instruction (instructlin)", f"{cost['instructlin_s']:.2f} s")
cols[1].metric(f"Re-encoding all {n_train + n_test} texts", f"{cost['reencode_s']:.2f} s")
cols[2].metric("Speed-up", f"{cost['speedup']:.1f}×")
where = (f"the teacher's encode time recorded in the pack, fit and map on this server's {found.device}" if on_pack
         else f"every step clocked on {found.device}")
st.caption(f"Teacher {plain(name)}; {where}.")
recorded = ", recorded" if on_pack else ""
st.markdown(f"A new instruction costs the teacher's pass with the instruction over the {n_train} training texts "
            f"(**{teacher_train:.2f} s**{recorded}) + the fit (**{t['fit']:.2f} s**) + mapping the other "
            f"{n_test} texts (**{t['map'] * 1e3:.2f} ms**), against re-encoding all {n_train + n_test} texts with "
            "the instruction.")
st.plotly_chart(figures.timing_bars({labels[k]: v for k, v in t.items()}), key="timing_bars")
st.caption(f"Instruction `{found.aspect}`, {n_test} test texts, fit on {n_train} (split seed {config.seed}), "
           f"method `{config.method}`; teacher {plain(name)}.")
with st.expander("Detail: the map alone"):
    cols = st.columns(3)
    cols[0].metric(f"Re-encode the test part{how}", f"{t['encode_instructed']:.2f} s")
    cols[1].metric("Map the test part", f"{t['map'] * 1e3:.2f} ms")
    cols[2].metric("Map speed-up", f"{speedup_map_only(t['encode_instructed'], t['map']):,.0f}×")
    st.caption("Mapping alone against re-encoding the same texts: it leaves out the teacher pass over the "
               "training texts and the fit, so quote the speed-up above.")

st.subheader("Break-even: how many instructions until mapping pays off?")
curves = cached.break_even(config.timing_spec(found.aspect), n_max)
st.plotly_chart(figures.break_even(curves["n"], curves["reencode"], curves["instructlin"]), key="break_even")
wins = [n for n, a, b in zip(curves["n"], curves["reencode"], curves["instructlin"], strict=True) if b < a]
st.markdown(f"One base encode + N maps is cheaper from **N = {wins[0]}** instructions on."
            if wins else f"Within {n_max} instructions, re-encoding stays cheaper on this corpus.")
st.caption(f"Teacher {plain(name)}; the same timings as above.")
with st.expander("Every timing with its parameters"):
    st.json({k: {"median_s": v.median_s, "times_s": v.times_s, **v.params}
             for k, v in found.steps.items()}, expanded=False)
