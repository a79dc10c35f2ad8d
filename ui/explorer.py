"""The Compare page's explorer: selection state scoped to the data shown, search and filter, neighbours,
the rows that moved most, and exports. Numbers come from ``instructlin.pipeline.explore``; this module draws."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from instructlin.io.vector_zip import vectors_zip
from instructlin.pipeline import explore
from instructlin.pipeline.held_out import HeldOutPoints
from ui.text import code, plain

SCOPE_KEY = "cmp_scope"


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


def select(scope: dict[str, Any], points: HeldOutPoints, rows: Sequence[int]) -> None:
    """Keep the corpus ids of ``rows`` (positions outside the rows shown are ignored) as the selection;
    one row chosen alone also becomes the point whose neighbours are listed."""
    valid = [int(r) for r in rows if 0 <= int(r) < len(points)]
    scope["selected"] = [points.ids[r] for r in dict.fromkeys(valid)]
    if len(valid) == 1:
        scope["focus"] = points.ids[valid[0]]


def search_and_filter(points: HeldOutPoints, tag: str) -> tuple[np.ndarray, bool]:
    """A search box and one label filter per column; the matching rows and whether any filter is on."""
    columns = st.columns([2] + [1] * len(points.labels))
    query = columns[0].text_input("Search texts or ids", key=f"cmp_query:{tag}",
                                  placeholder="e.g. harvest, news-012 (all words must appear)")
    keep = {name: columns[i].multiselect(f"Filter by {name}", sorted(set(map(str, values))),
                                         key=f"cmp_filter:{name}:{tag}", placeholder="all")
            for i, (name, values) in enumerate(points.labels.items(), start=1)}
    rows = explore.matching_rows(points.texts, ids=points.ids, query=query, labels=points.labels, keep=keep)
    return rows, bool(query.strip()) or any(keep.values())


def neighbours(points: HeldOutPoints, scope: dict[str, Any], candidates: Sequence[int], tag: str, *,
               k: int = 5) -> None:
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


def downloads(points: HeldOutPoints, every: pd.DataFrame, chosen: pd.DataFrame, *, aspect: str, fmt: str) -> None:
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
                          vectors_zip(mapped, points.ids, stem=f"mapped-test-{aspect}"),
                          file_name=f"mapped-test-{aspect}.zip", mime="application/zip", key="cmp_dl_npy")


def moved_most(points: HeldOutPoints, matches: Sequence[int], moves: dict[str, np.ndarray], tag: str) -> None:
    """The texts (among those matching the search) whose neighbourhood changed most, by the measure picked."""
    st.subheader("The texts that moved most")
    rank_by = st.radio("Rank by", [*explore.MOVES, *([explore.COSINE_ERROR] if explore.COSINE_ERROR in moves else [])],
                       horizontal=True, key="cmp_rank")
    st.dataframe(explore.moved_most(points.table(matches, moves), by=rank_by, top=20), hide_index=True,
                 key=f"cmp_moved:{tag}")
    st.caption("Movement is a change of neighbourhood: the share of a text's 10 nearest neighbours (cosine, among "
               "the held-out texts) in one space that are not among its 10 nearest in the other. "
               "*instruction moved*: base → instructed (what the teacher's instruction did); *map moved*: base → "
               "mapped; *map missed*: mapped vs instructed. *cosine error* = 1 − cos(mapped, instructed).")


def export(points: HeldOutPoints, every: pd.DataFrame, selected: Sequence[int], *, aspect: str) -> None:
    """The export section: a format switch and the three downloads."""
    st.subheader("Export")
    fmt = st.radio("Format", [f.value for f in explore.ExportFormat], horizontal=True, key="cmp_export_fmt",
                   format_func=str.upper)
    downloads(points, every, every.iloc[list(selected)], aspect=aspect, fmt=fmt)
    st.caption("Every file names rows by corpus id. The .zip holds the mapped embeddings of the held-out texts as "
               ".npy and, row by row, their ids in ids.csv.")
