"""Compare: base / mapped / instructed in aligned UMAP planes, explored point by point, then the clustering scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from instructlin.core.metrics import MIN_MEANINGFUL_GAP, MIN_MEANINGFUL_V
from instructlin.pipeline import explore
from instructlin.pipeline.report import gap_closed_text, retention_text
from ui import cached, explorer, figures, page, plot_style, projection_figures, state
from ui.text import plain

page.setup("Compare")


config = page.current_config()
page.ensure_embeddings(config)
with page.guard("Fitting and scoring"):
    result = cached.experiment(config)
aspects = [r.aspect for r in result.instructions]
labelling = result.dataset.aspects
aspect = st.sidebar.selectbox("Instruction (embeddings shown)", aspects, key=f"cmp_aspect:{'|'.join(aspects)}")
colours = [f"label: {a}" for a in labelling] + ["k-means cluster"]
colour_by = st.sidebar.radio("Colour by", colours, key=f"cmp_colour:{'|'.join(colours)}")
spec = config.evaluation_spec(aspect)
chosen = cached.evaluation(spec)
test = result.test_idx
points = explorer.Points(ids=[result.dataset.row_ids()[i] for i in test],
                         texts=[result.dataset.texts[i] for i in test],
                         labels={a: result.dataset.labels[a][test] for a in labelling},
                         views=cached.test_vectors(spec))
# What is picked below belongs to these rows and this config: a new dataset, encoder or config empties it.
scope = explorer.scoped((config, tuple(points.ids)))
tag = scope["tag"]

st.subheader(f"Base, mapped and instructed in aligned UMAP planes · instruction `{aspect}`")
teacher = page.teacher_name(config)
st.markdown(f"**Teacher:** {plain(teacher)} · {len(points)} held-out texts of {state.dataset_label(config.data)}; "
            f"the map was fitted on the other {len(result.train_idx)} (split seed {config.seed}).")
st.caption("Each panel is its own UMAP of its own embeddings, so it shows that space's clusters; base and mapped "
           "planes are only turned, flipped and scaled (Procrustes) onto the instructed one, so a text sits in "
           "comparable places across panels. Hover over a point: the same text lights up in all three panels. "
           "Switch to select to box / lasso texts, or click one to list its neighbours.")
with page.guard("Projecting with UMAP"):
    coords = cached.projection(spec)[0]  # computed here: the stored planes are Home's
if colour_by == "k-means cluster":
    k = len(np.unique(points.labels[aspect]))
    colour = [f"cluster {c}" for c in cached.clusters(spec, "instructed", k)]
    title, palette, symbol = "k-means (instructed)", plot_style.CLUSTER_PALETTE, "diamond"
else:
    title = colour_by.removeprefix("label: ")
    colour, palette, symbol = list(points.labels[title]), plot_style.PALETTE, "circle"

matches, filtering = explorer.search_and_filter(points, tag)
selected = points.positions(scope["selected"])
highlight = selected or (list(matches) if filtering else [])
hover = plot_style.hover_text(points.ids, points.texts, points.labels)
pointer = st.radio("Pointer", ["hover: the same text lights up in all three panels",
                               "select: box / lasso / click lists the texts below"],
                   horizontal=True, key="cmp_pointer", label_visibility="collapsed")
if pointer.startswith("hover"):
    figure = projection_figures.umap_panels(coords, colour, hover, selected=highlight, colour_title=title,
                                            webgl=False, palette=palette, symbol=symbol)
    st.iframe(projection_figures.linked_hover_html(figure), height=(figure.layout.height or 450) + 20)
else:
    figure = projection_figures.umap_panels(coords, colour, hover, selected=highlight, colour_title=title,
                                            palette=palette, symbol=symbol)
    event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"),
                            key=f"umap:{tag}")
    rows = [int(np.ravel(p["customdata"])[0]) for p in (event.selection.points if event else [])
            if p.get("customdata") is not None]
    if rows and points.positions([points.ids[r] for r in rows if 0 <= r < len(points)]) != selected:
        explorer.select(scope, points, rows)
        st.rerun()

left, right, _ = st.columns([1, 1, 3])
if selected and left.button("Clear selection", key="cmp_clear"):
    scope["selected"] = []
    st.rerun()
if filtering and (right if selected else left).button(f"Select the {len(matches)} matching texts",
                                                      key="cmp_select_matches", disabled=not len(matches)):
    explorer.select(scope, points, matches)
    st.rerun()
if filtering:
    st.caption(f"{len(matches)} of {len(points)} texts match the search and filters (highlighted).")

moves = explore.movement(points.views)
every = explorer.table(points, range(len(points)), moves, coords, max_chars=None)
if selected:
    shown = explorer.table(points, selected, moves)
    order = explore.COSINE_ERROR if explore.COSINE_ERROR in shown else "map missed"
    st.dataframe(shown.sort_values([order, "id"], ascending=[False, True]), hide_index=True,
                 key=f"cmp_selection:{tag}")
    st.caption(f"{len(selected)} selected texts, worst mapped first ({order}). Corpus ids as in the data file.")

st.subheader("Nearest neighbours of one point, in each space")
explorer.neighbours(points, scope, list(matches), tag)
st.caption("Cosine similarity within each space over the held-out texts. Where the instruction changes what "
           "matters, the instructed neighbours share that label more often than the base ones; the mapped "
           "column shows how much of that the map reproduces.")

st.subheader("The texts that moved most")
rank_by = st.radio("Rank by", [*explore.MOVES, *([explore.COSINE_ERROR] if explore.COSINE_ERROR in moves else [])],
                   horizontal=True, key="cmp_rank")
st.dataframe(explore.moved_most(explorer.table(points, matches, moves), by=rank_by, top=20), hide_index=True,
             key=f"cmp_moved:{tag}")
st.caption("Movement is a change of neighbourhood: the share of a text's 10 nearest neighbours (cosine, among "
           "the held-out texts) in one space that are not among its 10 nearest in the other. "
           "*instruction moved*: base → instructed (what the teacher's instruction did); *map moved*: base → "
           "mapped; *map missed*: mapped vs instructed. *cosine error* = 1 − cos(mapped, instructed).")

st.subheader("Export")
fmt = st.radio("Format", [f.value for f in explore.ExportFormat], horizontal=True, key="cmp_export_fmt",
               format_func=str.upper)
explorer.downloads(points, every, every.iloc[selected], aspect=aspect, fmt=fmt)
st.caption("Every file names rows by corpus id. The .zip holds the mapped embeddings of the held-out texts as "
           ".npy and, row by row, their ids in ids.csv.")

st.subheader("Clustering quality")
scores = {label: s.to_dict() for label, s in chosen.scores.items()}
left, right = st.columns([3, 2])
left.plotly_chart(figures.vmeasure_bars(scores), key="vbars")
left.caption(f"k-means V-measure, mean ± sd over {config.n_kmeans_seeds} seeds, on {len(test)} held-out "
             f"texts ({len(result.train_idx)} fitted the map; split seed {config.seed}), embeddings of instruction "
             f"`{aspect}` scored against each labelling. Teacher: {plain(teacher)}.")
right.dataframe(pd.DataFrame([{"labelling": a, "retention": retention_text(s), "gap closed": gap_closed_text(s)}
                              for a, s in chosen.scores.items()]), hide_index=True)
right.caption(f"Retention = V(mapped) / V(instructed), n/a when V(instructed) < {MIN_MEANINGFUL_V:g}. Gap closed = "
              "share of the base → instructed V-measure gap that the map recovers, n/a when that gap is under "
              f"{MIN_MEANINGFUL_GAP:g}.")

left, right = st.columns(2)
left.markdown("**Cross-instruction matrix** (mapped V-measure)")
left.plotly_chart(figures.matrix_heatmap(result.cross_instruction_matrix(), x_title="scored against labels",
                                         y_title="instruction"), key="cross")
left.caption(f"Each instruction's mapped held-out embeddings (split seed {config.seed}) scored against each "
             f"labelling. Teacher: {plain(teacher)}.")
space = right.radio("Contingency of", ["mapped", "instructed", "base"], horizontal=True, key="cmp_space")
k = len(np.unique(points.labels[aspect]))
right.plotly_chart(figures.contingency(cached.clusters(spec, space, k), points.labels[aspect]),
                   key="contingency")
