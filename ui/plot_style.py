"""How the app's plots look: palettes, compact hover labels, room for the toolbar, readable log axes
(pure helpers, no Streamlit; ``ui.figures`` builds the figures with them)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from plotly.colors import qualitative

#: Label classes.
PALETTE = qualitative.Plotly + qualitative.Set2
#: k-means clusters get their own colours (and diamond markers), so a cluster is never read as a label.
CLUSTER_PALETTE = qualitative.Dark2 + qualitative.Pastel1
#: Hover labels: small, one short line or two, see-through, so they hide few of the points beside them.
HOVER_LABEL = {"font": {"size": 11, "color": "#1b1f24"}, "bgcolor": "rgba(255,255,255,0.85)",
               "bordercolor": "#9aa5b1", "align": "left", "namelength": 0}
#: Room above the panels for the plot toolbar, so it never sits on a panel title.
TOOLBAR_MARGIN = 64


def natural(value: str) -> tuple:
    """Sort key that puts "cluster 2" before "cluster 10"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))


def log_ticks(values: Sequence[float], *, unit: str = "") -> dict[str, Any]:
    """Axis settings for a readable log axis: one labelled tick per decade spanning ``values``
    ("1 ms", "10 ms", "0.1 s" when ``unit`` is "s"; "0.001", "0.01" otherwise), never SI letters."""
    positive = [float(v) for v in values if v is not None and np.isfinite(v) and v > 0]
    if not positive:
        return {"type": "log"}
    low, high = int(np.floor(np.log10(min(positive)))), int(np.ceil(np.log10(max(positive))))
    ticks = [10.0 ** e for e in range(low, max(high, low + 1) + 1)]

    def label(v: float) -> str:
        if unit == "s" and v < 1:
            return f"{v * 1e3:g} ms" if v < 0.1 else f"{v:g} s"
        return f"{v:g}{' ' + unit if unit else ''}"

    return {"type": "log", "tickvals": ticks, "ticktext": [label(v) for v in ticks],
            "minor": {"showgrid": True, "dtick": "D2", "gridcolor": "rgba(0, 0, 0, 0.05)"}}


def hover_text(ids: Sequence[str], texts: Sequence[str], labels: Mapping[str, Sequence[str]], *,
               chars: int = 48) -> list[str]:
    """Short hover text per point: the corpus id and labels in bold on one line, then the first ``chars``
    characters of the text (HTML-escaped), so a tooltip stays small beside the point it names."""
    out = []
    for i, text in enumerate(texts):
        head = " · ".join([str(ids[i]), *(str(v[i]) for v in labels.values())])
        snippet = text[:chars].rsplit(" ", 1)[0] if len(text) > chars else text
        out.append(f"<b>{html.escape(head)}</b><br>{html.escape(snippet)}{'…' if len(text) > chars else ''}")
    return out
