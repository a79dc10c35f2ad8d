"""The Your vectors page's inputs: uploaded base, instructed and label files, or the shipped example (the
teacher pack's arrays of the demo corpus), as the :class:`VectorSpec` that keys the cached run."""

from __future__ import annotations

from typing import Any

import streamlit as st

from instructlin.cli.options import FILE_TYPES, MAX_VECTOR_ROWS, VECTOR_FILE_TYPES
from instructlin.pipeline.specs import PackSpec
from instructlin.vectors.runs import VectorSpec
from instructlin.vectors.shipped import example_spec, instructed_files
from ui import cached, state, upload_field
from ui.text import code, plain

PACK = state.ROOT / "data" / "teacher"
CORPUS = state.ROOT / "data" / "news_demo.csv"
SOURCES = ("Your files", "The shipped example (EmbeddingGemma-300m on the demo corpus)")


def sources() -> tuple[str, ...]:
    """Where vectors may come from: the shipped example only where the checkout has the pack."""
    return SOURCES if (PACK / "manifest.json").is_file() else SOURCES[:1]


def _stored(label: str, types: tuple[str, ...], key: str, help_text: str) -> tuple[str, str] | None:
    """An upload kept in the size-capped store: (stored path, the user's file name), or None."""
    upload = st.file_uploader(label, type=list(types), key=key, help=help_text)
    if upload is None:
        return None
    path, name = upload_field.keep(upload, empty_hint="Upload the file again.",
                                   too_large_hint="Map large files with the command line: instructlin fit, then "
                                                  "instructlin map.")
    return str(path), name


def your_files(**fit: Any) -> tuple[VectorSpec, str]:
    """The three uploads and the column names, with the fit's choices; the teacher as the page names it."""
    left, middle, right = st.columns(3)
    with left:
        base = _stored("Base embeddings (.npy or .parquet)", VECTOR_FILE_TYPES, "v:base",
                       f"Every row, no instruction. Parquet: an id column and a list column; at most "
                       f"{MAX_VECTOR_ROWS:,} rows.")
    with middle:
        instructed = _stored("Instructed embeddings (.npy or .parquet)", VECTOR_FILE_TYPES, "v:instructed",
                             "Some or all rows, the same encoder with the instruction; matched by id (Parquet) "
                             "or by position (.npy).")
    with right:
        labels = _stored("Labels (optional: CSV, Parquet or JSONL)", FILE_TYPES, "v:labels",
                         "An id column and a label column (or one label column, matched by position).")
    with st.sidebar.expander("Column names (when a file has several)"):
        id_column = st.text_input("Id column", key="v:id_column", placeholder="id",
                                  help="Empty: a column named id where a file has one. Write a single - to "
                                       "ignore ids and match rows by position.")
        vector_column = st.text_input("Vector column (Parquet)", key="v:vector_column",
                                      placeholder="the only list column")
        label_column = st.text_input("Label column", key="v:label_column", placeholder="the only other column")
    if base is None or instructed is None:
        st.info("Upload the base and the instructed embeddings to fit a map. Both must come from the same "
                "encoder; the instructed ones may cover only some rows (those are the training pairs).",
                icon=":material/upload_file:")
        st.stop()
    spec = VectorSpec(base[0], instructed[0], labels[0] if labels else None,
                      names=(base[1], instructed[1], labels[1] if labels else None),
                      id_column="" if id_column.strip() == "-" else id_column.strip() or None,
                      vector_column=vector_column.strip() or None, label_column=label_column.strip() or None, **fit)
    return spec, f"your instructed vectors ({plain(instructed[1])})"


def shipped_example(**fit: Any) -> tuple[VectorSpec, str]:
    """One of the pack's instructions, its labelling from the manifest; the teacher as the page names it."""
    pack = cached.pack(PackSpec(str(PACK)))
    files = instructed_files(pack)
    name = st.selectbox("Instruction", list(files), format_func=lambda f: files[f].instruction, key="v:example")
    spec = example_spec(pack, name, corpus=CORPUS, **fit)
    aspect = spec.label_column
    labels_said = (f"labels: the {code(aspect)} column of data/news_demo.csv (the manifest's labelling for this "
                   "instruction)" if aspect else "no labels: the demo corpus has no labelling this instruction is "
                   "meant for, so only the stand-in measures are shown")
    st.caption(f"data/teacher/base.npy and {code('data/teacher/' + name)} (288 rows each, matched by position); "
               f"{labels_said}. Home shows the same files as the mean over 5 splits stratified by topic and "
               "location together; here one split is fitted, stratified by the labels given, so its numbers "
               "differ from Home's by about the spread Home shows.")
    return spec, f"EmbeddingGemma-300m, {code(files[name].instruction)}"
