"""The projection figures: base / mapped / instructed side by side, and their linked-hover HTML page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from instructlin.pipeline.explore import SPACES
from ui.plot_style import HOVER_LABEL, PALETTE, TOOLBAR_MARGIN, natural


def umap_panels(
    coords: Mapping[str, np.ndarray],
    colour: Sequence[str],
    hover: Sequence[str],
    *,
    selected: Sequence[int] = (),
    colour_title: str = "label",
    webgl: bool = True,
    palette: Sequence[str] = PALETTE,
    symbol: str = "circle",
) -> go.Figure:
    """Base / mapped / instructed side by side (planes aligned point by point); ``customdata`` is the row's position
    (the page maps it to its corpus id), ``hover`` its short hover text (which names the corpus id), and
    ``selected`` rows are highlighted in all three panels. Pass ``plot_style.CLUSTER_PALETTE`` (and a symbol)
    when colouring by k-means cluster."""
    scatter = go.Scattergl if webgl else go.Scatter
    spaces = [s for s in SPACES if s in coords]
    fig = make_subplots(rows=1, cols=len(spaces), subplot_titles=spaces, shared_xaxes=True,
                        shared_yaxes=True, horizontal_spacing=0.03)
    colour = np.asarray(colour, dtype=str)
    ids = np.arange(len(colour))
    chosen = set(int(i) for i in selected)
    for col, space in enumerate(spaces, start=1):
        xy = np.asarray(coords[space])
        for k, cls in enumerate(sorted(set(colour), key=natural)):
            rows = ids[colour == cls]
            fig.add_trace(scatter(
                x=xy[rows, 0], y=xy[rows, 1], mode="markers", name=cls, legendgroup=cls,
                showlegend=col == 1, customdata=rows.tolist(), text=[hover[i] for i in rows],
                marker={"color": palette[k % len(palette)], "size": 7, "symbol": symbol, "line": {"width": 0}},
                hovertemplate="%{text}<extra></extra>",
                selectedpoints=[j for j, r in enumerate(rows) if r in chosen] if chosen else None,
                selected={"marker": {"size": 11, "opacity": 1.0}},
                unselected={"marker": {"opacity": 0.15}},
            ), row=1, col=col)
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    fig.update_layout(height=450, legend_title_text=colour_title, dragmode="lasso", hoverlabel=HOVER_LABEL,
                      hoverdistance=12, margin={"t": TOOLBAR_MARGIN, "b": 10, "l": 10, "r": 10},
                      clickmode="event+select")
    return fig


# On hover, find the points with the same row id (customdata) in every panel and show all their labels.
_LINK_HOVER_JS = """
var gd = document.getElementById('{plot_id}');
var linking = false;
gd.on('plotly_hover', function (event) {
  if (linking) { return; }
  var id = event.points[0].customdata;
  var hits = [], subplots = [];
  gd._fullData.forEach(function (trace) {
    var ids = trace.customdata || [];
    for (var i = 0; i < ids.length; i++) {
      if (ids[i] === id) {
        hits.push({curveNumber: trace.index, pointNumber: i});
        var subplot = trace.xaxis + trace.yaxis;
        if (subplots.indexOf(subplot) < 0) { subplots.push(subplot); }
      }
    }
  });
  linking = true;
  Plotly.Fx.hover(gd, hits, subplots);
  linking = false;
});
"""


def linked_hover_html(fig: go.Figure) -> str:
    """A standalone HTML page of ``fig`` (plotly.js inlined, no network) whose hover is linked: the
    point under the pointer and the points with the same ``customdata`` in the other panels light up."""
    fig = go.Figure(fig)
    fig.update_layout(hovermode="closest", dragmode="zoom")
    return fig.to_html(include_plotlyjs=True, full_html=True, post_script=_LINK_HOVER_JS,
                       config={"displaylogo": False}, default_height=f"{fig.layout.height or 430}px")
