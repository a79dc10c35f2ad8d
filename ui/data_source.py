"""The Data page's sources: the demo corpus, NYTClustering, a table under the server's folders or an upload,
each with its text and label columns chosen and loaded before it replaces the data in use."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from instructlin.cli.options import FILE_TYPES, MAX_UPLOAD_MB
from instructlin.errors import DataError
from instructlin.io.budgets import check_table_size
from instructlin.sources.datasets import read_table
from instructlin.sources.text_column import guess_text_column
from ui import access, cached, page, state, upload_field
from ui.text import code, plain

SOURCES = ("Demo corpus", "NYTClustering (online)", "Research corpora / a folder", "Upload a file")


def current(spec: str) -> str:
    """The source a data spec comes from."""
    return ("Demo corpus" if spec == "demo" else "NYTClustering (online)" if spec.startswith("nyt:")
            else "Upload a file" if state.is_upload(spec) else "Research corpora / a folder")


def choose(source: str) -> None:
    """Draw the sidebar of ``source`` and keep what it names as the data (rerunning when it changed)."""
    spec = state.get("data")
    if source == "Demo corpus":
        use({"data": "demo", "text_column": "text", "label_columns": None}, "the demo corpus")
    elif source == "NYTClustering (online)":
        aspect = st.sidebar.radio("Labelling", ("topic", "location"), index=1 if spec == "nyt:location" else 0)
        st.caption("NYTClustering (InBedder) is downloaded from the Hugging Face hub at a pinned revision; "
                   "2,160 articles. Offline it cannot be had: pick the demo or a local file instead.")
        use({"data": f"nyt:{aspect}", "text_column": "text", "label_columns": None}, f"NYTClustering {aspect}")
    elif source == "Research corpora / a folder":
        path, name = _folder_table(spec)
        use(choose_columns(path, name), name)
    else:
        path, name = _upload(spec)
        use(choose_columns(path, name), name)


def _folder_table(spec: str) -> tuple[Path, str]:
    """A table picked from a folder inside the server's allowed roots."""
    roots = access.data_roots()
    if not roots:
        st.info(access.DATA_ROOTS_HELP, icon=":material/lock:")
        st.stop()
    folder = st.sidebar.text_input("Folder with CSV / Parquet / JSONL files", key="w:folder", value=str(roots[0]),
                                   help="Inside one of the folders this server allows: "
                                        f"{', '.join(str(r) for r in roots)}. A relative name is taken "
                                        "inside the first.")
    try:
        root = access.resolve_inside(folder or roots[0], roots)
    except access.OutsideRootsError:
        st.error(f"{code(folder)} is outside the folders this server lets visitors read: "
                 f"{', '.join(code(r) for r in roots)}. Name a folder inside one of them.")
        st.stop()
    listing = access.list_tables(root) if root.is_dir() else access.Listing((), False)
    if not listing.files:
        st.info(f"{code(folder)} holds no CSV / Parquet / JSONL files. Name a folder inside "
                f"{', '.join(code(r) for r in roots)} that does.")
        st.stop()
    if listing.truncated:
        st.sidebar.caption(f"Showing the first {len(listing.files)} files only; name a sub-folder to see others.")
    names = [str(p.relative_to(root)) for p in listing.files]
    chosen = st.sidebar.selectbox("File", names, index=names.index(str(Path(spec).relative_to(root)))
                                  if Path(spec) in listing.files else 0)
    return root / chosen, chosen


def _upload(spec: str) -> tuple[Path, str]:
    """The uploaded table (or the one this session uploaded before)."""
    upload = st.sidebar.file_uploader(f"CSV, Parquet or JSONL (at most {MAX_UPLOAD_MB} MB)",
                                      type=list(FILE_TYPES), key="w:upload")
    if upload is None and not state.is_upload(spec):
        st.info("Upload a table with one text column and one or more label columns.")
        st.stop()
    if upload is None:
        return Path(spec), state.upload_name(spec)
    return upload_field.keep(upload, empty_hint="Upload a file with a header and rows.",
                             too_large_hint="Sample it first, or ask the person who runs the app to put it in a "
                                            "folder the folder source reads.")


def choose_columns(path: Path, name: str) -> dict[str, object]:
    """Text and label columns of a table file (the stored choice where it is the file in use)."""
    spec = state.get("data")
    head = _head(path, name)
    columns = [str(c) for c in head.columns]
    in_use = str(path) == spec
    if in_use and state.get("text_column") in columns:
        guess, why = state.get("text_column"), ""
    else:
        found = guess_text_column(head)
        guess, why = found.column, plain(found.reason)
    text_col = st.sidebar.selectbox("Text column", columns, index=None if guess is None else columns.index(guess),
                                    key=f"tc:{path}", placeholder="Pick the text column")
    if text_col is None:
        st.warning(f"**Which column holds the texts?** Pick it in the sidebar under *Text column*. {why} "
                   f"Columns of {plain(name)}: {', '.join(plain(c) for c in columns)}. Until then the app keeps using "
                   f"the {state.dataset_label(spec)}.", icon=":material/help:")
        st.stop()
    others = [c for c in columns if c not in (text_col, "id")]
    stored = state.get("label_columns") if in_use and text_col == state.get("text_column") else None
    default = [c for c in stored if c in others] if stored else ["cluster"] if "cluster" in others else others[:2]
    labels = st.sidebar.multiselect("Label columns (one or more)", others, default=default,
                                    key=f"lc:{path}:{text_col}")
    if not labels:
        st.error("Pick at least one label column in the sidebar: clustering is scored against it.")
        st.stop()
    drop_empty = state.widget(st.sidebar.checkbox, "Drop rows with an empty text", "drop_empty")
    return {"data": str(path), "text_column": text_col, "label_columns": tuple(labels), "drop_empty": drop_empty}


def _head(path: Path, name: str) -> pd.DataFrame:
    with page.guard(f"Reading {plain(name)}"):
        try:
            check_table_size(path, name=name)  # the app's budget, from the footer or line count
        except DataError as err:
            st.error(f"**{plain(name)} is too large for this app.** {plain(err)}")
            st.stop()
        frame = read_table(path, nrows=200)
    if len(frame.columns) < 2:
        st.error(f"{plain(name)} has {len(frame.columns)} column(s); it needs a text column and at least "
                 "one label column.")
        st.stop()
    return frame


def use(choice: dict[str, object], name: str) -> None:
    """Load the chosen data before keeping it, so a bad file never replaces the one in use."""
    spec = state.get("data")
    with page.guard(f"Loading {plain(name)}"):
        try:
            cached.dataset(state.config(**choice).data_spec())
        except (DataError, FileNotFoundError) as err:
            st.error(f"**{plain(name)} cannot be used.** {plain(state.user_names(err))} The app keeps using "
                     f"the {state.dataset_label(spec)}.")
            st.stop()
    state.choose(**choice)
