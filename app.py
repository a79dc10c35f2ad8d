"""Home: what instructlin does, what is active, and the whole demo in one click."""

from __future__ import annotations

import time

import streamlit as st

from ui import cached, figures, page, state

page.setup("instructlin", ":material/explore:")

st.markdown(
    "Instruction-following encoders (e.g. Qwen3-Embedding) give a different embedding of the same text "
    "for each instruction (*topic?*, *where?*), but re-encoding a whole corpus for every new instruction "
    "is slow. **instructlin** encodes the corpus once without an instruction and learns, from a few "
    "paired rows, an affine map `W·x + b` that turns those base embeddings into the instructed ones. "
    "Mapping a corpus is a matrix product, so a new instruction costs a small train encode plus "
    "milliseconds, while clustering keeps most of the quality of the full re-encode."
)
st.plotly_chart(figures.pipeline_diagram(), config={"displayModeBar": False}, key="pipeline")

demo = state.config(data="demo", text_column="text", label_columns=None)
with page.guard("Loading the demo corpus"):
    data = cached.dataset(demo.data_spec())
demo = state.config(aspects=data.aspects, data="demo", text_column="text", label_columns=None)

left, right = st.columns(2)
left.markdown(f"**Dataset in use:** {state.dataset_label(state.get('data'))}  \n"
              f"**The demo runs on:** the embedded news corpus, {len(data)} texts, label columns "
              f"{', '.join(data.aspects)}")
right.markdown("**Instructions:**  \n" + "  \n".join(f"- {a}: *{i}*" for a, i in demo.instructions))
page.encoder_note(demo)

st.subheader("Run the whole demo")
st.write("Encodes base and instructed embeddings (cached on disk after the first run), fits a "
         f"`{demo.method}` map on {demo.train_size:.0%} of the rows, scores the rest with k-means "
         f"V-measure and times every step on {min(demo.timing_max_texts, len(data))} texts.")
if st.button("Run the whole demo", icon=":material/play_arrow:", type="primary", key="run_demo"):
    start = time.perf_counter()
    with st.status("Running the demo...", expanded=True) as status:
        st.write("1/3 · Encoding base and instructed embeddings")
        page.ensure_embeddings(demo)
        st.write("2/3 · Fitting the map and scoring base / mapped / instructed")
        with page.guard("Fitting and scoring"):
            cached.experiment(demo)
        st.write("3/3 · Timing encode, re-encode, fit and map on this device")
        with page.guard("Timing"):
            st.session_state["demo_summary"] = (demo, cached.summary(demo))
        st.session_state.setdefault("timed", set()).add(demo)
        status.update(label=f"Demo done in {time.perf_counter() - start:.1f} s", state="complete",
                      expanded=False)

found = st.session_state.get("demo_summary")
if found is None or found[0] != demo:
    st.info("Press **Run the whole demo** to see the headline numbers, or go step by step with the "
            "pages in the sidebar (Data → Embeddings → Train → Compare → Timing).")
    st.stop()

record = found[1]
v = record["v_measure"]
st.markdown(f"**Headline** · instruction *{record['instruction']}* · scored against `{record['aspect']}` "
            f"labels on {record['n_test']} held-out texts ({record['n_train']} used to fit)")
cols = st.columns(6)
cols[0].metric("V-measure base", f"{v['base']['mean']:.3f}", help=f"sd {v['base']['sd']:.3f}")
cols[1].metric("V-measure mapped", f"{v['mapped']['mean']:.3f}",
               delta=f"{v['mapped']['mean'] - v['base']['mean']:+.3f} vs base")
cols[2].metric("V-measure instructed", f"{v['instructed']['mean']:.3f}")
retention = record["retention"]
cols[3].metric("Retention", "n/a" if retention is None else f"{retention:.1%}",
               help="V(mapped) / V(instructed)")
cols[4].metric("Map speed-up", f"{record['speedup_map_vs_reencode']:,.0f}×",
               help="re-encoding the test part with the instruction, over mapping its base embeddings")
amortised = record["speedup_amortised"]
cols[5].metric(f"Speed-up, {amortised['n_instructions']} instr.", f"{amortised['speedup']:.1f}×",
               help=f"{amortised['n_instructions']} full re-encodes vs one base encode + "
                    f"{amortised['n_instructions']} × (train encode + fit + map)")
with st.expander("The full record (the CLI's JSON)"):
    st.json(record, expanded=False)
