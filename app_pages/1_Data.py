"""Data: choose the corpus (demo, NYTClustering, research CSVs, an upload), sample it, look at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from instructlin.cli.options import FILE_TYPES, MAX_UPLOAD_MB
from instructlin.errors import DataError
from instructlin.io.budgets import check_table_size
from instructlin.sources.datasets import read_table
from ui import access, cached, figures, page, state
from ui.text import code, plain

page.setup("Data")
on_pack = state.on_pack()

SOURCES = ("Demo corpus", "NYTClustering (online)", "Research corpora / a folder", "Upload a file")
#: A column is taken as the text without asking only if its values look like sentences: this long on
#: average, this many words, and mostly different from row to row (a label column is none of these).
MIN_TEXT_CHARS, MIN_TEXT_WORDS, MIN_TEXT_VARIETY = 20, 3, 0.5
spec = state.get("data")
current = ("Demo corpus" if spec == "demo" else "NYTClustering (online)" if spec.startswith("nyt:")
           else "Upload a file" if state.is_upload(spec) else "Research corpora / a folder")
if "w:source" not in st.session_state:
    st.session_state["w:source"] = current
# the pack holds the demo corpus's embeddings only: other data needs a live encoder
source = None if on_pack else st.sidebar.radio("Source", SOURCES, key="w:source")


def choose_columns(path: Path, name: str) -> dict[str, object]:
    """Text and label columns of a table file (the stored choice where it is the file in use)."""
    head = _head(path, name)
    columns = [str(c) for c in head.columns]
    in_use = str(path) == spec
    guess, why = (state.get("text_column"), "") if in_use and state.get("text_column") in columns \
        else _guess_text(head)
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


def _guess_text(head: pd.DataFrame) -> tuple[str | None, str]:
    """``text`` if present, else the longest column of sentence-like values, else None and why none is."""
    if "text" in head.columns:
        return "text", ""
    stats = {}
    for column in head.columns:
        values = head[column].dropna()
        if str(column) == "id" or values.empty or not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        values = values.astype(str)
        lengths = values.str.len()
        stats[str(column)] = (lengths.mean(), values.str.split().str.len().mean(), values.nunique() / len(values),
                              int(lengths.min()), int(lengths.max()), values.nunique())
    texty = [c for c, (chars, words, variety, *_) in stats.items()
             if chars >= MIN_TEXT_CHARS and words >= MIN_TEXT_WORDS and variety >= MIN_TEXT_VARIETY]
    if texty:
        return max(texty, key=lambda c: stats[c][0]), ""
    if not stats:
        return None, "No column holds strings, so none can be taken as the text."
    longest = max(stats, key=lambda c: stats[c][0])
    _, _, _, low, high, distinct = stats[longest]
    return None, (f"No column looks like text (sentences of {MIN_TEXT_CHARS}+ characters that differ from row "
                  f"to row), so none is guessed: the longest values, in {plain(longest)}, have {low} to {high} "
                  f"characters, {distinct} different in the first {len(head)} rows.")


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
    with page.guard(f"Loading {plain(name)}"):
        try:
            cached.dataset(state.config(**choice).data_spec())
        except (DataError, FileNotFoundError) as err:
            st.error(f"**{plain(name)} cannot be used.** {plain(state.user_names(err))} The app keeps using "
                     f"the {state.dataset_label(spec)}.")
            st.stop()
    state.choose(**choice)


if on_pack:
    st.info("The teacher pack holds embeddings of the demo corpus, every text in file order, so the data is the "
            "demo corpus. To use other data (an upload, a research corpus), choose **a live encoder** under "
            "*Embeddings from* in the sidebar.", icon=":material/inventory_2:")
elif source == "Demo corpus":
    use({"data": "demo", "text_column": "text", "label_columns": None}, "the demo corpus")
elif source == "NYTClustering (online)":
    aspect = st.sidebar.radio("Labelling", ("topic", "location"),
                              index=1 if spec == "nyt:location" else 0)
    st.caption("NYTClustering (InBedder) is downloaded from the Hugging Face hub at a pinned revision; "
               "2,160 articles. Offline it cannot be had: pick the demo or a local file instead.")
    use({"data": f"nyt:{aspect}", "text_column": "text", "label_columns": None}, f"NYTClustering {aspect}")
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
    use(choose_columns(root / chosen, chosen), chosen)
else:
    upload = st.sidebar.file_uploader(f"CSV, Parquet or JSONL (at most {MAX_UPLOAD_MB} MB)",
                                      type=list(FILE_TYPES), key="w:upload")
    if upload is None and not state.is_upload(spec):
        st.info("Upload a table with one text column and one or more label columns.")
        st.stop()
    if upload is None:
        path, name = Path(spec), state.upload_name(spec)
    else:
        content, name = upload.getvalue(), upload.name
        if len(content) == 0:
            st.error(f"{plain(name)} is empty (0 bytes). Upload a file with a header and rows.")
            st.stop()
        if len(content) > state.MAX_UPLOAD_BYTES:
            st.error(f"{plain(name)} is {len(content) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. "
                     "Sample it first, or ask the person who runs the app to put it in a folder the folder "
                     "source reads.")
            st.stop()
        path = state.save_upload(name, content)
    use(choose_columns(path, name), name)

n_per_class = 0 if on_pack else state.widget(st.sidebar.number_input, "Texts per class (0 = all)", "n_per_class",
                                             min_value=0, max_value=100_000, step=4)
state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)

config = page.current_config()
data = cached.dataset(config.data_spec())
if on_pack:
    teacher = page.teacher(config)
    with page.guard("Checking the pack against the texts"):
        teacher.check_texts(data.texts, name=state.dataset_label(config.data))
st.success(f"**{state.dataset_label(config.data)}** · {len(data)} texts · label columns: "
           f"{', '.join(f'{code(a)} ({len(np.unique(data.labels[a]))} classes)' for a in data.aspects)}"
           f"{f' · sampled {n_per_class} per class of {code(data.aspects[0])}' if n_per_class else ''}"
           f"{f' · embeddings: {teacher.name}, precomputed (the texts match its pack)' if on_pack else ''}")

st.subheader("Example texts")
examples = pd.DataFrame({"text": [t[:300] + ("…" if len(t) > 300 else "") for t in data.texts],
                         **{a: v for a, v in data.labels.items()}})
st.dataframe(examples.sample(min(8, len(examples)), random_state=config.seed), hide_index=True)

st.subheader("Label distributions")
st.plotly_chart(figures.label_distribution(data.labels), key="labels")
st.subheader("Text lengths")
st.plotly_chart(figures.length_histogram([len(t) for t in data.texts]), key="lengths")
