"""Data: choose the corpus (demo, NYTClustering, research CSVs, an upload), sample it, look at it."""

from __future__ import annotations

import streamlit as st

from instructlin.sources.listings import class_counts, example_rows
from ui import cached, data_source, figures, page, state
from ui.text import code

page.setup("Data")
on_pack = state.on_pack()

if "w:source" not in st.session_state:
    st.session_state["w:source"] = data_source.current(state.get("data"))
if on_pack:  # the pack holds the demo corpus's embeddings only: other data needs a live encoder
    st.info("The teacher pack holds embeddings of the demo corpus, every text in file order, so the data is the "
            "demo corpus. To use other data (an upload, a research corpus), choose **a live encoder** under "
            "*Embeddings from* in the sidebar.", icon=":material/inventory_2:")
else:
    data_source.choose(st.sidebar.radio("Source", data_source.SOURCES, key="w:source"))

n_per_class = 0 if on_pack else state.widget(st.sidebar.number_input, "Texts per class (0 = all)", "n_per_class",
                                             min_value=0, max_value=100_000, step=4)
state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)

config = page.current_config()
data = cached.dataset(config.data_spec())
if on_pack:
    teacher = page.teacher(config)
    with page.guard("Checking the pack against the texts"):
        teacher.check_texts(data.texts, name=state.dataset_label(config.data))
st.success(f"**{state.dataset_label(config.data)}** · {len(data)} texts · label columns: "
           f"{', '.join(f'{code(a)} ({n} classes)' for a, n in class_counts(data.labels).items())}"
           f"{f' · sampled {n_per_class} per class of {code(data.aspects[0])}' if n_per_class else ''}"
           f"{f' · embeddings: {teacher.name}, precomputed (the texts match its pack)' if on_pack else ''}")

st.subheader("Example texts")
st.dataframe(example_rows(data, n=8, seed=config.seed), hide_index=True)

st.subheader("Label distributions")
st.plotly_chart(figures.label_distribution(data.labels), key="labels")
st.subheader("Text lengths")
st.plotly_chart(figures.length_histogram([len(t) for t in data.texts]), key="lengths")
