"""Compare's aligned UMAP panels: coloured by a labelling or by k-means, hovered in all three at once or
selected by box, lasso or click; the selection listed worst mapped first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from instructlin.pipeline import explore
from instructlin.pipeline.held_out import Exploration
from instructlin.pipeline.specs import EvaluationSpec
from ui import cached, explorer, plot_style, projection_figures

KMEANS = "k-means cluster"


def colour_choices(labelling: Sequence[str]) -> list[str]:
    """The "Colour by" options: each label column, then the k-means clusters."""
    return [f"label: {a}" for a in labelling] + [KMEANS]


def _colouring(found: Exploration, spec: EvaluationSpec, aspect: str, colour_by: str) -> dict[str, Any]:
    """The colour of each point, the legend's title, palette and marker for the choice ``colour_by``."""
    points = found.points
    if colour_by == KMEANS:
        clusters = cached.clusters(spec, "instructed", points.n_classes(aspect))
        return {"colour": [f"cluster {c}" for c in clusters], "colour_title": "k-means (instructed)",
                "palette": plot_style.CLUSTER_PALETTE, "symbol": "diamond"}
    title = colour_by.removeprefix("label: ")
    return {"colour": list(points.labels[title]), "colour_title": title, "palette": plot_style.PALETTE,
            "symbol": "circle"}


def panels(found: Exploration, spec: EvaluationSpec, scope: dict[str, Any], *, aspect: str, colour_by: str,
           matches: np.ndarray, filtering: bool) -> list[int]:
    """The three panels with the pointer switch, then the selection's buttons; the selected positions."""
    points, tag = found.points, scope["tag"]
    selected = points.positions(scope["selected"])
    highlight = selected or (list(matches) if filtering else [])
    hover = plot_style.hover_text(points.ids, points.texts, points.labels)
    style = {"selected": highlight, **_colouring(found, spec, aspect, colour_by)}
    pointer = st.radio("Pointer", ["hover: the same text lights up in all three panels",
                                   "select: box / lasso / click lists the texts below"],
                       horizontal=True, key="cmp_pointer", label_visibility="collapsed")
    if pointer.startswith("hover"):
        figure = projection_figures.umap_panels(found.coords, style.pop("colour"), hover, webgl=False, **style)
        st.iframe(projection_figures.linked_hover_html(figure), height=(figure.layout.height or 450) + 20)
    else:
        figure = projection_figures.umap_panels(found.coords, style.pop("colour"), hover, **style)
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
    return selected


def selection_table(found: Exploration, selected: list[int], tag: str) -> None:
    """The selected texts, worst mapped first."""
    if not selected:
        return
    shown = found.points.table(selected, found.moves)
    order = explore.COSINE_ERROR if explore.COSINE_ERROR in shown else "map missed"
    st.dataframe(shown.sort_values([order, "id"], ascending=[False, True]), hide_index=True,
                 key=f"cmp_selection:{tag}")
    st.caption(f"{len(selected)} selected texts, worst mapped first ({order}). Corpus ids as in the data file.")
