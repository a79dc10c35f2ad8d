"""The pages' cached calls that compose the stage wrappers of ``ui.cached`` into what one page shows,
keyed by a stage's spec (never by arrays)."""

from __future__ import annotations

import streamlit as st

from instructlin.pipeline.held_out import Exploration, exploration, held_out_points
from instructlin.pipeline.specs import EvaluationSpec
from ui import cached


@st.cache_resource(show_spinner="Projecting base, mapped and instructed with UMAP, one plane each...",
                   max_entries=16)
def explored(spec: EvaluationSpec) -> Exploration:
    """One map's held-out rows, their UMAP planes, how far each moved and the full point table (Compare).
    Its spinner is the UMAP's: the stage wrappers called inside it show none of their own."""
    m = spec.map
    points = held_out_points(cached.dataset(m.embeddings.data), cached.split(m.split).test,
                             cached.held_out_vectors(spec))
    return exploration(points, cached.projection(spec)[0])
