"""Pure figure builders: plain arrays and dicts in, ``plotly.graph_objects.Figure`` out (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from instructlin.pipeline.explore import SPACES
from ui.plot_style import PALETTE, log_ticks

SPACE_COLOURS = {"base": "#9aa5b1", "mapped": "#2f6fde", "instructed": "#e4572e"}


def pipeline_diagram() -> go.Figure:
    """The idea in one picture: encode once, then one cheap affine map per instruction."""
    boxes = [  # (x, y, text, colour)
        (0.06, 0.5, "texts", "#eceff4"),
        (0.27, 0.72, "base encoder<br><b>once</b>", "#d8e2f3"),
        (0.27, 0.22, "instructed encoder<br>once per instruction<br>(slow re-encode)", "#f9dcd3"),
        (0.52, 0.72, "base<br>embeddings", "#d8e2f3"),
        (0.74, 0.72, "affine map<br>W·x + b", "#cfe8d5"),
        (0.94, 0.5, "instructed<br>embeddings", "#f9dcd3"),
    ]
    arrows = [(0, 1), (0, 2), (1, 3), (3, 4), (4, 5), (2, 5)]
    fig = go.Figure()
    for start, end in arrows:
        (x0, y0), (x1, y1) = boxes[start][:2], boxes[end][:2]
        dashed = start == 2 or end == 2
        fig.add_annotation(x=x1 - 0.07 * np.sign(x1 - x0), y=y1, ax=x0 + 0.07, ay=y0, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3, arrowwidth=1.5,
                           arrowcolor="#c0392b" if dashed else "#34495e", text="")
    for x, y, text, colour in boxes:
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, bgcolor=colour, bordercolor="#34495e",
                           borderwidth=1, borderpad=8, font={"size": 13, "color": "#1b1f24"})
    fig.add_annotation(x=0.74, y=0.97, showarrow=False, font={"size": 11, "color": "#2d6a4f"},
                       text="fitted on a few paired rows<br>(default: PCA ridge, label-free CV)")
    fig.update_xaxes(visible=False, range=[-0.02, 1.04])
    fig.update_yaxes(visible=False, range=[0.0, 1.08])
    fig.update_layout(height=280, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white")
    return fig


def label_distribution(labels: Mapping[str, Sequence[str]]) -> go.Figure:
    """One bar chart of class counts per label column."""
    fig = make_subplots(rows=1, cols=max(len(labels), 1), subplot_titles=list(labels))
    for col, (aspect, values) in enumerate(labels.items(), start=1):
        counts = pd.Series(values).value_counts().sort_index()
        fig.add_trace(go.Bar(x=counts.index.astype(str), y=counts.to_numpy(), name=aspect,
                             marker_color=PALETTE[col - 1]), row=1, col=col)
    fig.update_layout(height=320, showlegend=False, margin={"t": 40, "b": 10})
    return fig


def length_histogram(lengths: Sequence[int]) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(lengths), nbinsx=40, marker_color="#2f6fde"))
    fig.update_layout(height=300, xaxis_title="characters per text", yaxis_title="texts",
                      margin={"t": 10, "b": 10})
    return fig


def training_curves(history: Sequence[Mapping[str, float]]) -> go.Figure:
    """Train / held-out loss and held-out cosine per epoch (SGD)."""
    epochs = [h["epoch"] for h in history]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "held-out cosine to instructed"))
    fig.add_trace(go.Scatter(x=epochs, y=[h["train_loss"] for h in history], name="train loss"), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=[h["val_loss"] for h in history], name="held-out loss"), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=[h["val_cosine"] for h in history], name="held-out cosine",
                             line={"color": SPACE_COLOURS["mapped"]}), 1, 2)
    fig.update_xaxes(title_text="epoch")
    losses = [h[k] for h in history for k in ("train_loss", "val_loss")]
    fig.update_yaxes(**log_ticks(losses), row=1, col=1)
    fig.update_layout(height=320, margin={"t": 40, "b": 10})
    return fig


#: The axis title of each CV score (``cv_results_`` keys).
CV_SCORE_TITLES = {"profile": "held-out similarity-profile agreement (CV)",
                   "neighbours": "held-out 10-NN agreement (CV)", "cosine": "held-out cosine with the teacher (CV)"}


def cv_tradeoff(cv_results: Sequence[Mapping[str, Any]], chosen: str, criterion: str = "profile") -> go.Figure:
    """Each CV candidate's held-out cosine against the score CV maximised (``criterion``), the chosen one
    marked: fidelity of each vector against the map's place among the teacher's vectors."""
    def label(r: Mapping[str, Any]) -> str:
        size = "" if r.get("size") is None else f" {'k' if r['method'] == 'pca-ridge' else 'r'}={r['size']}"
        return f"{r['method']}{size} prior={r['prior']} alpha={r['alpha']:g}"

    y_key = criterion if criterion != "cosine" else "profile"
    rows_with = [r for r in cv_results if r.get(y_key) is not None and r.get("cosine") is not None]
    fig = go.Figure()
    for method in sorted({r["method"] for r in rows_with}):
        rows = [r for r in rows_with if r["method"] == method]
        fig.add_trace(go.Scatter(
            x=[r["cosine"] for r in rows], y=[r[y_key] for r in rows], mode="markers",
            name=method, text=[label(r) for r in rows], hovertemplate="%{text}<extra></extra>"))
    if rows_with:
        best = max(rows_with, key=lambda r: r[criterion])
        fig.add_trace(go.Scatter(x=[best["cosine"]], y=[best[y_key]], mode="markers",
                                 marker={"symbol": "star", "size": 16, "color": "black"},
                                 name=f"chosen: {chosen}", hoverinfo="skip"))
    fig.update_layout(height=340, xaxis_title=CV_SCORE_TITLES["cosine"], yaxis_title=CV_SCORE_TITLES[y_key],
                      margin={"t": 20, "b": 10}, legend={"orientation": "h", "y": -0.25})
    return fig


def learning_curve(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Retention of the teacher's V-measure against the number of teacher-encoded texts."""
    fig = go.Figure()
    for selection in sorted({r["selection"] for r in rows}):
        sub = sorted((r for r in rows if r["selection"] == selection), key=lambda r: r["n_train"])
        fig.add_trace(go.Scatter(
            x=[r["n_train"] for r in sub], y=[r["retention"] for r in sub], mode="lines+markers",
            name=selection, error_y={"type": "data", "array": [r["retention_sd"] for r in sub]}))
    fig.add_hline(y=0.9, line_dash="dot", annotation_text="90 % of the teacher")
    sizes = sorted({int(r["n_train"]) for r in rows})
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[str(n) for n in sizes])
    fig.update_layout(height=320, xaxis_title="texts given a teacher pass",
                      yaxis_title="retention (mean over splits)", margin={"t": 20, "b": 10})
    return fig


def vmeasure_bars(scores: Mapping[str, Mapping[str, Mapping[str, float]]]) -> go.Figure:
    """V-measure (mean with sd over k-means seeds) of base, mapped and instructed per labelling."""
    fig = go.Figure()
    aspects = list(scores)
    for space in SPACES:
        fig.add_trace(go.Bar(
            x=aspects, y=[scores[a][space]["mean"] for a in aspects], name=space,
            error_y={"type": "data", "array": [scores[a][space]["sd"] for a in aspects]},
            marker_color=SPACE_COLOURS[space],
        ))
    fig.update_layout(barmode="group", height=340, yaxis_title="V-measure (k-means)",
                      yaxis_range=[0, 1.05], margin={"t": 20, "b": 10})
    return fig


def matrix_heatmap(matrix: Mapping[str, Mapping[str, float]], *, x_title: str, y_title: str) -> go.Figure:
    """A heat-map of ``matrix[row][column]`` with the values written in the cells."""
    rows = list(matrix)
    cols = list(next(iter(matrix.values()))) if matrix else []
    z = [[matrix[r][c] for c in cols] for r in rows]
    fig = go.Figure(go.Heatmap(z=z, x=cols, y=rows, colorscale="Blues", text=np.round(z, 2),
                               texttemplate="%{text}", zmin=0))
    fig.update_layout(height=300, xaxis_title=x_title, yaxis_title=y_title, margin={"t": 20, "b": 10})
    return fig


def contingency(clusters: Sequence[int], labels: Sequence[str]) -> go.Figure:
    """Counts of k-means clusters against true labels (rows: clusters, columns: labels)."""
    table = pd.crosstab(pd.Series(clusters, name="cluster"), pd.Series(labels, name="label"))
    fig = go.Figure(go.Heatmap(z=table.to_numpy(), x=table.columns.astype(str),
                               y=[f"cluster {c}" for c in table.index], colorscale="Oranges",
                               text=table.to_numpy(), texttemplate="%{text}"))
    fig.update_layout(height=320, xaxis_title="true label", margin={"t": 20, "b": 10})
    return fig


def timing_bars(seconds: Mapping[str, float]) -> go.Figure:
    """Seconds per step on a log axis."""
    names = list(seconds)
    fig = go.Figure(go.Bar(x=names, y=[seconds[n] for n in names],
                           text=[f"{seconds[n]:.3g} s" for n in names], textposition="outside",
                           marker_color=["#9aa5b1", "#e4572e", "#2d6a4f", "#2f6fde"][: len(names)]))
    fig.update_yaxes(**log_ticks(list(seconds.values()), unit="s"))
    fig.update_layout(height=360, yaxis_title="seconds (log scale)", margin={"t": 30, "b": 10})
    return fig


def break_even(n: Sequence[int], reencode: Sequence[float], mapped: Sequence[float]) -> go.Figure:
    """Total seconds against the number of instructions: N re-encodes vs one base encode + N maps."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(n), y=list(reencode), name="N full re-encodes",
                             line={"color": SPACE_COLOURS["instructed"]}))
    fig.add_trace(go.Scatter(x=list(n), y=list(mapped), name="1 base encode + N maps",
                             line={"color": SPACE_COLOURS["mapped"]}))
    fig.update_layout(height=360, xaxis_title="number of instructions N", yaxis_title="seconds",
                      margin={"t": 20, "b": 10})
    return fig
