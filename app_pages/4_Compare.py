"""Compare: base / mapped / instructed in aligned UMAP planes, explored point by point, then the clustering scores."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.projection import INPUT_COMPONENTS
from ui import cached, cached_pages, compare_scores, compare_umap, explorer, page, state
from ui.text import plain

page.setup("Compare")

config = page.current_config()
page.ensure_embeddings(config)
with page.guard("Fitting and scoring"):
    result = cached.experiment(config)
aspects = [r.aspect for r in result.instructions]
aspect = st.sidebar.selectbox("Instruction (embeddings shown)", aspects, key=f"cmp_aspect:{'|'.join(aspects)}")
colours = compare_umap.colour_choices(result.dataset.aspects)
colour_by = st.sidebar.radio("Colour by", colours, key=f"cmp_colour:{'|'.join(colours)}")
spec = config.evaluation_spec(aspect)
chosen = cached.evaluation(spec)

st.subheader(f"Base, mapped and instructed in aligned UMAP planes · instruction `{aspect}`")
teacher = page.teacher_name(config)
st.markdown(f"**Teacher:** {plain(teacher)} · {len(result.test_idx)} held-out texts of "
            f"{state.dataset_label(config.data)}; the map was fitted on the other {len(result.train_idx)} "
            f"(split seed {config.seed}).")
st.caption(f"Each panel is its own UMAP of its own embeddings (their top {INPUT_COMPONENTS} principal coordinates), so "
           "it shows that space's clusters; base and mapped "
           "planes are only turned, flipped and scaled (Procrustes) onto the instructed one, so a text sits in "
           "comparable places across panels. Hover over a point: the same text lights up in all three panels. "
           "Switch to select to box / lasso texts, or click one to list its neighbours.")
with page.guard("Projecting with UMAP"):
    found = cached_pages.explored(spec)  # computed here: the stored planes are Home's
points = found.points
# What is picked below belongs to these rows and this config: a new dataset, encoder or config empties it.
scope = explorer.scoped((config, tuple(points.ids)))
tag = scope["tag"]

matches, filtering = explorer.search_and_filter(points, tag)
selected = compare_umap.panels(found, spec, scope, aspect=aspect, colour_by=colour_by, matches=matches,
                               filtering=filtering)
compare_umap.selection_table(found, selected, tag)

st.subheader("Nearest neighbours of one point, in each space")
explorer.neighbours(points, scope, list(matches), tag)
st.caption("Cosine similarity within each space over the held-out texts. Where the instruction changes what "
           "matters, the instructed neighbours share that label more often than the base ones; the mapped "
           "column shows how much of that the map reproduces.")

explorer.moved_most(points, matches, found.moves, tag)
explorer.export(points, found.every, selected, aspect=aspect)
compare_scores.clustering_quality(config, result, chosen, spec, points, aspect=aspect, teacher=teacher)
