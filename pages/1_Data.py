"""Data: choose the corpus (demo, NYTClustering, research CSVs, an upload), sample it, look at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from instructlin.data import read_table
from instructlin.options import FILE_TYPES, MAX_UPLOAD_MB
from ui import access, cached, figures, page, state
from ui.text import code, plain

page.setup("Data", ":material/table_view:")

SOURCES = ("Demo corpus", "NYTClustering (online)", "Research corpora / a folder", "Upload a file")
spec = state.get("data")
current = ("Demo corpus" if spec == "demo" else "NYTClustering (online)" if spec.startswith("nyt:")
           else "Upload a file" if Path(spec).parent == state.UPLOAD_DIR else "Research corpora / a folder")
if "w:source" not in st.session_state:
    st.session_state["w:source"] = current
source = st.sidebar.radio("Source", SOURCES, key="w:source")


def choose_columns(path: Path) -> None:
    """Text and label columns of a table file; stores the choice as the session's dataset."""
    head = _head(path)
    columns = [str(c) for c in head.columns]
    text_col = st.sidebar.selectbox("Text column", columns, index=columns.index(_guess_text(head)),
                                    key=f"tc:{path}")
    others = [c for c in columns if c not in (text_col, "id")]
    default = ["cluster"] if "cluster" in others else others[:2]
    labels = st.sidebar.multiselect("Label columns (one or more)", others, default=default,
                                    key=f"lc:{path}:{text_col}")
    if not labels:
        st.error("Pick at least one label column in the sidebar: clustering is scored against it.")
        st.stop()
    state.put("data", str(path))
    state.put("text_column", text_col)
    state.put("label_columns", tuple(labels))
    state.widget(st.sidebar.checkbox, "Drop rows with an empty text", "drop_empty")


def _guess_text(head: pd.DataFrame) -> str:
    """``text`` if present, else the column of strings with the longest values."""
    if "text" in head.columns:
        return "text"
    lengths = {str(c): head[c].astype(str).str.len().mean() for c in head.columns
               if pd.api.types.is_string_dtype(head[c]) or head[c].dtype == object}
    return max(lengths, key=lengths.get) if lengths else str(head.columns[0])


def _head(path: Path) -> pd.DataFrame:
    with page.guard(f"Reading {plain(path.name)}"):
        frame = read_table(path, nrows=20)
    if len(frame.columns) < 2:
        st.error(f"{plain(path.name)} has {len(frame.columns)} column(s); it needs a text column and at least "
                 "one label column.")
        st.stop()
    return frame


if source == "Demo corpus":
    state.put("data", "demo")
    state.put("text_column", "text")
    state.put("label_columns", None)
elif source == "NYTClustering (online)":
    aspect = st.sidebar.radio("Labelling", ("topic", "location"),
                              index=1 if spec == "nyt:location" else 0)
    state.put("data", f"nyt:{aspect}")
    state.put("text_column", "text")
    state.put("label_columns", None)
    st.caption("NYTClustering (InBedder) is downloaded from the Hugging Face hub at a pinned revision; "
               "2,160 articles. Offline it cannot be had: pick the demo or a local file instead.")
elif source == "Research corpora / a folder":
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
    choose_columns(root / chosen)
else:
    upload = st.sidebar.file_uploader(f"CSV, Parquet or JSONL (at most {MAX_UPLOAD_MB} MB)",
                                      type=list(FILE_TYPES), key="w:upload")
    if upload is None and Path(spec).parent != state.UPLOAD_DIR:
        st.info("Upload a table with one text column and one or more label columns.")
        st.stop()
    if upload is not None:
        content = upload.getvalue()
        if len(content) == 0:
            st.error(f"{plain(upload.name)} is empty (0 bytes). Upload a file with a header and rows.")
            st.stop()
        if len(content) > state.MAX_UPLOAD_BYTES:
            st.error(f"{plain(upload.name)} is {len(content) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. "
                     "Sample it first, or ask the person who runs the app to put it in a folder the folder "
                     "source reads.")
            st.stop()
        st.session_state["upload_name"] = upload.name
        spec = str(state.save_upload(upload.name, content))
    choose_columns(Path(spec))

n_per_class = state.widget(st.sidebar.number_input, "Texts per class (0 = all)", "n_per_class",
                           min_value=0, max_value=100_000, step=4)
state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)

config = page.current_config()
data = cached.dataset(config.data_spec())
st.success(f"**{state.dataset_label(config.data)}** · {len(data)} texts · label columns: "
           f"{', '.join(f'{code(a)} ({len(np.unique(data.labels[a]))} classes)' for a in data.aspects)}"
           f"{f' · sampled {n_per_class} per class of {code(data.aspects[0])}' if n_per_class else ''}")

st.subheader("Example texts")
examples = pd.DataFrame({"text": [t[:300] + ("…" if len(t) > 300 else "") for t in data.texts],
                         **{a: v for a, v in data.labels.items()}})
st.dataframe(examples.sample(min(8, len(examples)), random_state=config.seed), hide_index=True)

st.subheader("Label distributions")
st.plotly_chart(figures.label_distribution(data.labels), key="labels")
st.subheader("Text lengths")
st.plotly_chart(figures.length_histogram([len(t) for t in data.texts]), key="lengths")
