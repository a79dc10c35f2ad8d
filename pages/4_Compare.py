"""Compare: base / mapped / instructed in one UMAP basis, V-measure bars, and the clustering itself."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from instructlin.metrics import row_cosine
from ui import cached, figures, page

page.setup("Compare", ":material/compare:")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"



config = page.current_config()
page.ensure_embeddings(config)
with page.guard("Fitting and scoring"):
    result = cached.experiment(config)
aspects = [r.aspect for r in result.instructions]
labelling = result.dataset.aspects
aspect = st.sidebar.selectbox("Instruction (embeddings shown)", aspects, key="cmp_aspect")
colour_by = st.sidebar.radio("Colour by", [f"label: {a}" for a in labelling] + ["k-means cluster"],
                             key="cmp_colour")
spec = config.evaluation_spec(aspect)
chosen = cached.evaluation(spec)
test = result.test_idx
texts = [result.dataset.texts[i] for i in test]

st.subheader(f"One shared UMAP basis · instruction `{aspect}`")
st.caption("UMAP is fitted once on the instructed test embeddings; base and mapped rows are placed in "
           "the same plane, so positions are comparable across panels. Hover over a point: the same text "
           "lights up in all three panels. Switch to select to box / lasso texts and list them below.")
with page.guard("Projecting with UMAP"):
    coords = cached.projection(spec)
if colour_by == "k-means cluster":
    k = len(np.unique(result.dataset.labels[aspect][test]))
    colour = [f"cluster {c}" for c in cached.clusters(spec, "instructed", k)]
    title = "k-means (instructed)"
else:
    title = colour_by.removeprefix("label: ")
    colour = list(result.dataset.labels[title][test])
hover = ["<br>".join(textwrap.wrap(t[:100] + ("…" if len(t) > 100 else ""), 50)) for t in texts]
selected = st.session_state.get("cmp_selected", [])
pointer = st.radio("Pointer", ["hover: the same text lights up in all three panels",
                               "select: box / lasso / click lists the texts below"],
                   horizontal=True, key="cmp_pointer", label_visibility="collapsed")
points = []
if pointer.startswith("hover"):
    figure = figures.umap_panels(coords, colour, hover, colour_title=title, webgl=False)
    components.html(figures.linked_hover_html(figure), height=(figure.layout.height or 430) + 20)
else:
    event = st.plotly_chart(figures.umap_panels(coords, colour, hover, selected=selected, colour_title=title),
                            on_select="rerun", selection_mode=("points", "box", "lasso"), key="umap")
    points = event.selection.points if event and event.selection else []
ids = sorted({int(np.ravel(p["customdata"])[0]) for p in points if p.get("customdata") is not None})
if ids and ids != selected:
    st.session_state["cmp_selected"] = ids
    st.rerun()
if selected:
    vectors = cached.test_vectors(spec)
    error = 1.0 - row_cosine(vectors["mapped"][selected], vectors["instructed"][selected])
    table = pd.DataFrame({"row": selected, "text": [texts[i][:200] for i in selected],
                          **{a: result.dataset.labels[a][test][selected] for a in labelling},
                          "cosine error": error})
    st.dataframe(table.sort_values("cosine error", ascending=False), hide_index=True)
    st.caption(f"{len(selected)} selected texts; cosine error = 1 − cos(mapped, instructed), worst first.")
    if st.button("Clear selection", key="cmp_clear"):
        st.session_state["cmp_selected"] = []
        st.rerun()

st.subheader("Clustering quality")
scores = {label: s.to_dict() for label, s in chosen.scores.items()}
left, right = st.columns([3, 2])
left.plotly_chart(figures.vmeasure_bars(scores), key="vbars")
left.caption(f"k-means V-measure, mean ± sd over {config.n_kmeans_seeds} seeds, on {len(test)} held-out "
             f"texts, embeddings of instruction `{aspect}` scored against each labelling.")
right.dataframe(pd.DataFrame([{"labelling": a, "retention": _percent(s["retention"]),
                               "gap closed": _percent(s["gap_closed"])} for a, s in scores.items()]),
                hide_index=True)
right.caption("Retention = V(mapped) / V(instructed). Gap closed = share of the base → instructed "
              "V-measure gap that the map recovers (n/a when the gap is under 0.01).")

left, right = st.columns(2)
left.markdown("**Cross-instruction matrix** (mapped V-measure)")
left.plotly_chart(figures.matrix_heatmap(result.cross_instruction_matrix(), x_title="scored against labels",
                                         y_title="instruction"), key="cross")
space = right.radio("Contingency of", ["mapped", "instructed", "base"], horizontal=True, key="cmp_space")
k = len(np.unique(result.dataset.labels[aspect][test]))
right.plotly_chart(figures.contingency(cached.clusters(spec, space, k),
                                       result.dataset.labels[aspect][test]), key="contingency")
