"""Train: fit the map (closed-form methods at once, SGD live with a Stop button) and download it."""

from __future__ import annotations

import streamlit as st

from instructlin.cli.options import METHOD_LABELS
from ui import cached, page, state, train_sgd, train_views

page.setup("Train")

state.widget(st.sidebar.slider, "Train fraction", "train_size", min_value=0.05, max_value=0.9, step=0.05)
state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)
method = state.widget(st.sidebar.radio, "Method", "method", options=list(METHOD_LABELS),
                      format_func=METHOD_LABELS.get)
if method == "sgd":
    train_sgd.settings()

config = page.current_config()
with page.guard("Splitting the data"):
    rows = cached.split(config.split_spec())
aspects = [a for a, _ in config.instructions]
aspect = st.selectbox("Instruction to train", aspects, key="train_aspect",
                      format_func=lambda a: f"{a}: {dict(config.instructions)[a]}")
st.caption(f"{len(rows.train)} texts to fit on, {len(rows.test)} held out to score the map.")
page.ensure_embeddings(config)
teacher = page.teacher_name(config)

if method == "sgd":
    result = train_sgd.live_result(config, aspect, rows)
else:
    result = train_views.closed_form(config, aspect, len(rows.train), teacher)
train_views.scores(result, config, len(rows.train), teacher)
train_views.learning_curve(config, aspect, method, teacher)
train_views.downloads(config, aspect, result, rows.test)
train_views.check_saved_map(config, aspect, rows)
