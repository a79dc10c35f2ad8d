"""Your vectors: fit, score and export a map on embeddings you already have. No encoder runs on this page."""

from __future__ import annotations

import numpy as np
import streamlit as st

from instructlin.cli.options import METHOD_LABELS
from instructlin.vectors.runs import VectorRun
from ui import cached, page, state, vector_inputs, vector_scores
from ui.navigation import FAVICON, loaded
from ui.text import plain

st.set_page_config(page_title="instructlin · Your vectors", page_icon=FAVICON, layout="wide")
state.init()
st.title("Your vectors")
loaded()  # imports are done: the "Loading" line goes even while the page waits for uploads
st.markdown(
    "Bring embeddings you already have: **base** embeddings of every row (no instruction), and "
    "**instructed** embeddings (the same encoder, with the instruction) of some or all rows. The map is "
    "fitted on the rows that have both and maps every row. **No encoder runs here.** Optional **labels** "
    "(an id column and a label column) add V-measure.")

sources = vector_inputs.sources()
source = st.sidebar.radio("Source", sources, key="v:source")
methods = [m for m in METHOD_LABELS if m != "sgd"]  # SGD trains live on the Train page
method = state.widget(st.sidebar.radio, "Method", "vector_method", options=methods, format_func=METHOD_LABELS.get)
train_size = state.widget(st.sidebar.slider, "Train fraction (when every row is instructed)", "train_size",
                          min_value=0.05, max_value=0.9, step=0.05)
seed = state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)
fit = {"method": method, "train_size": float(train_size), "seed": int(seed)}
spec, teacher = (vector_inputs.your_files if source == sources[0] else vector_inputs.shipped_example)(**fit)

with page.guard("Reading your vectors"):
    run: VectorRun = cached.vector_run(spec)
aligned, names = run.aligned, spec.names
n, dim = aligned.base.shape
matched = "by id" if aligned.matched_by == "id" else "by position"
classes = f" · labels: {plain(names[2])}, {len(np.unique(aligned.labels))} classes" if aligned.labels is not None \
    else ""
st.success(f"**{plain(names[0])}**: {n:,} rows × {dim} · **{plain(names[1])}**: {len(aligned.paired):,} rows, "
           f"matched {matched}{classes}")
st.markdown(f"**Map:** `{run.model.describe()}`, fitted on {len(run.train):,} pairs. Teacher: {teacher}.")

if len(run.test):
    vector_scores.held_out(run, spec, teacher=teacher)
else:
    vector_scores.unpaired(run)
vector_scores.downloads(run, spec)
