"""The Compare page's explorer: selection state scoped to the data shown, search and filter, neighbours,
the rows that moved most, and exports. Numbers come from ``instructlin.pipeline.explore``; this module draws."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from instructlin.pipeline import explore
from ui.text import code, plain

SCOPE_KEY = "cmp_scope"


@dataclass(frozen=True)
class Points:
    """The rows Compare shows (the test part), named by corpus id, with their three embedding sets."""

    ids: list[str]
    texts: list[str]
    labels: dict[str, np.ndarray]
    views: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[str]) -> list[int]:
        """Positions of ``ids`` among the rows shown, in the given order; ids not shown are dropped."""
        where = {v: i for i, v in enumerate(self.ids)}
        return [where[v] for v in dict.fromkeys(ids) if v in where]

    def describe_text(self, row: int, *, chars: int = 300) -> str:
        """The row's text, cut at ``chars`` with an ellipsis."""
        text = self.texts[row]
        return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + "…"

    def describe(self, row: int, *, chars: int = 70) -> str:
        """``id · labels · first words``: one line naming a row for pickers."""
        text = self.texts[row]
        short = text[:chars] + ("…" if len(text) > chars else "")
        return " · ".join([self.ids[row], *(str(v[row]) for v in self.labels.values()), short])


def scoped(identity: Any) -> dict[str, Any]:
    """Session state that depends on the data shown (selection, clicked point), emptied whenever
    ``identity`` changes: a new dataset, encoder, instruction or split never meets an old selection.
    ``tag`` (a digest of the identity) goes into the keys of widgets whose options depend on the data."""
    tag = hashlib.sha1(repr(identity).encode("utf-8")).hexdigest()[:10]
    found = st.session_state.get(SCOPE_KEY)
    if not isinstance(found, dict) or found.get("tag") != tag:
        found = {"tag": tag, "selected": [], "focus": None}
        st.session_state[SCOPE_KEY] = found
    return found


def select(scope: dict[str, Any], points: Points, rows: Sequence[int]) -> None:
    """Keep the corpus ids of ``rows`` (positions outside the rows shown are ignored) as the selection;
    one row chosen alone also becomes the point whose neighbours are listed."""
    valid = [int(r) for r in rows if 0 <= int(r) < len(points)]
    scope["selected"] = [points.ids[r] for r in dict.fromkeys(valid)]
    if len(valid) == 1:
        scope["focus"] = points.ids[valid[0]]


def search_and_filter(points: Points, tag: str) -> tuple[np.ndarray, bool]:
    """A search box and one label filter per column; the matching rows and whether any filter is on."""
    columns = st.columns([2] + [1] * len(points.labels))
    query = columns[0].text_input("Search texts or ids", key=f"cmp_query:{tag}",
                                  placeholder="e.g. harvest, news-012 (all words must appear)")
    keep = {name: columns[i].multiselect(f"Filter by {name}", sorted(set(map(str, values))),
                                         key=f"cmp_filter:{name}:{tag}", placeholder="all")
            for i, (name, values) in enumerate(points.labels.items(), start=1)}
    rows = explore.matching_rows(points.texts, ids=points.ids, query=query, labels=points.labels, keep=keep)
    return rows, bool(query.strip()) or any(keep.values())


def table(points: Points, rows: Sequence[int], moves: Mapping[str, np.ndarray],
          coords: Mapping[str, np.ndarray] | None = None, *, max_chars: int | None = 200) -> pd.DataFrame:
    """The library's point table for ``rows``: id, text, labels, movement (and 2-D coordinates)."""
    rows = np.asarray(rows, dtype=int)
    return explore.point_table(
        ids=[points.ids[i] for i in rows], texts=[points.texts[i] for i in rows],
        labels={k: v[rows] for k, v in points.labels.items()},
        moves={k: v[rows] for k, v in moves.items()},
        coords={k: np.asarray(v)[rows] for k, v in (coords or {}).items()}, max_chars=max_chars)


def neighbours(points: Points, scope: dict[str, Any], candidates: Sequence[int], tag: str, *, k: int = 5) -> None:
    """A picker (defaulting to the clicked point) and its nearest neighbours in the three spaces."""
    options = list(candidates) or list(range(len(points)))
    focus = points.positions([scope["focus"]]) if scope.get("focus") else []
    key = f"cmp_focus:{tag}"
    if focus and focus[0] in options and scope.get("focus_shown") != scope["focus"]:
        st.session_state[key] = focus[0]  # a click on the chart moves the picker once
        scope["focus_shown"] = scope["focus"]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    row = st.selectbox("Point", options, key=key, format_func=points.describe,
                       help="Click a point in select mode, or pick one here (the search above narrows the list).")
    tables = explore.neighbour_tables(points.views, row, ids=points.ids, texts=points.texts,
                                      labels=points.labels, k=k, max_chars=110)
    st.markdown(f"**{code(points.ids[row])}** · " + " · ".join(
        f"{name}: {code(v[row])}" for name, v in points.labels.items()) + f"  \n{plain(points.describe_text(row))}")
    for column, (space, found) in zip(st.columns(3), tables.items(), strict=True):
        shared = "" if space == "instructed" else \
            f" · {explore.shared_neighbours_count(tables, space)} of {len(found)} also in instructed"
        column.markdown(f"**{space}**{shared}")
        for _, hit in found.iterrows():
            tags = " · ".join(str(hit[name]) for name in points.labels)
            column.markdown(f"**{hit['rank']}.** {code(hit['id'])} · {hit['cosine']:.3f} · {plain(tags)}")
            column.caption(plain(hit["text"]))


def downloads(points: Points, every: pd.DataFrame, chosen: pd.DataFrame, *, aspect: str, fmt: str) -> None:
    """Selection, 2-D coordinates (both with corpus ids) and the mapped embeddings with their ids."""
    suffix = explore.ExportFormat(fmt).value
    mime = "text/csv" if suffix == "csv" else "application/vnd.apache.parquet"
    left, middle, right = st.columns(3)
    left.download_button(f"Selection, {len(chosen)} texts (.{suffix})", explore.export_bytes(chosen, fmt),
                         file_name=f"selection-{aspect}.{suffix}", mime=mime, key="cmp_dl_selection",
                         disabled=chosen.empty)
    middle.download_button(f"2-D coordinates, {len(every)} texts (.{suffix})",
                           explore.export_bytes(every, fmt), file_name=f"umap-{aspect}.{suffix}", mime=mime,
                           key="cmp_dl_coords")
    mapped = np.asarray(points.views["mapped"])
    right.download_button(f"Mapped embeddings {mapped.shape[0]} × {mapped.shape[1]} + ids (.zip)",
                          explore.npy_with_ids(mapped, points.ids, stem=f"mapped-test-{aspect}"),
                          file_name=f"mapped-test-{aspect}.zip", mime="application/zip", key="cmp_dl_npy")
