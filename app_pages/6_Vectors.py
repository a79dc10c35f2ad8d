"""Your vectors: fit, score and export a map on embeddings you already have. No encoder runs on this page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from instructlin.cli.options import FILE_TYPES, MAX_UPLOAD_MB, MAX_VECTOR_ROWS, METHOD_LABELS, VECTOR_FILE_TYPES
from instructlin.core.metrics import MIN_MEANINGFUL_GAP, MIN_MEANINGFUL_V
from instructlin.pipeline.report import gap_closed_text, over_tightening_note, retention_text, teacher_verdict
from instructlin.vectors.runs import VectorRun, VectorSpec, map_zip, npy_zip, parquet_bytes
from ui import cached, figures, page, state
from ui.navigation import FAVICON, loaded
from ui.standin_view import stand_in_row
from ui.text import code, plain

st.set_page_config(page_title="instructlin · Your vectors", page_icon=FAVICON, layout="wide")
state.init()
st.title("Your vectors")
loaded()  # imports are done: the "Loading" line goes even while the page waits for uploads
st.markdown(
    "Bring embeddings you already have: **base** embeddings of every row (no instruction), and "
    "**instructed** embeddings (the same encoder, with the instruction) of some or all rows. The map is "
    "fitted on the rows that have both and maps every row. **No encoder runs here.** Optional **labels** "
    "(an id column and a label column) add V-measure.")

PACK = state.ROOT / "data" / "teacher"
SOURCES = ("Your files", "The shipped example (EmbeddingGemma-300m on the demo corpus)")
source = st.sidebar.radio("Source", SOURCES if (PACK / "manifest.json").is_file() else SOURCES[:1], key="v:source")
methods = [m for m in METHOD_LABELS if m != "sgd"]  # SGD trains live on the Train page
method = state.widget(st.sidebar.radio, "Method", "vector_method", options=methods, format_func=METHOD_LABELS.get)
train_size = state.widget(st.sidebar.slider, "Train fraction (when every row is instructed)", "train_size",
                          min_value=0.05, max_value=0.9, step=0.05)
seed = state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)


def stored(label: str, types: tuple[str, ...], key: str, help_text: str) -> tuple[str, str] | None:
    """An upload kept in the size-capped store: (stored path, the user's file name), or None."""
    upload = st.file_uploader(label, type=list(types), key=key, help=help_text)
    if upload is None:
        return None
    content = upload.getvalue()
    if not content:
        st.error(f"{plain(upload.name)} is empty (0 bytes). Upload the file again.")
        st.stop()
    if len(content) > state.MAX_UPLOAD_BYTES:
        st.error(f"{plain(upload.name)} is {len(content) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB. "
                 "Map large files with the command line: instructlin fit, then instructlin map.")
        st.stop()
    return str(state.save_upload(upload.name, content)), upload.name


if source == SOURCES[0]:
    left, middle, right = st.columns(3)
    with left:
        base = stored("Base embeddings (.npy or .parquet)", VECTOR_FILE_TYPES, "v:base",
                      f"Every row, no instruction. Parquet: an id column and a list column; at most "
                      f"{MAX_VECTOR_ROWS:,} rows.")
    with middle:
        instructed = stored("Instructed embeddings (.npy or .parquet)", VECTOR_FILE_TYPES, "v:instructed",
                            "Some or all rows, the same encoder with the instruction; matched by id (Parquet) "
                            "or by position (.npy).")
    with right:
        labels = stored("Labels (optional: CSV, Parquet or JSONL)", FILE_TYPES, "v:labels",
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
                      vector_column=vector_column.strip() or None, label_column=label_column.strip() or None,
                      method=method, train_size=float(train_size), seed=int(seed))
    teacher = f"your instructed vectors ({plain(instructed[1])})"
else:
    files = {f["file"]: f for f in json.loads((PACK / "manifest.json").read_text(encoding="utf-8"))["files"]
             if f["instruction"]}
    name = st.selectbox("Instruction", list(files), format_func=lambda f: files[f]["instruction"], key="v:example")
    aspect = files[name].get("labelling")  # the manifest names the labelling each instruction is meant for
    demo_csv = str(state.ROOT / "data" / "news_demo.csv")
    spec = VectorSpec(str(PACK / "base.npy"), str(PACK / name), demo_csv if aspect else None,
                      names=("base.npy", name, "news_demo.csv" if aspect else None), id_column="",
                      label_column=aspect, method=method, train_size=float(train_size), seed=int(seed))
    teacher = f"EmbeddingGemma-300m, {code(files[name]['instruction'])}"
    labels_said = (f"labels: the {code(aspect)} column of data/news_demo.csv (the manifest's labelling for this "
                   "instruction)" if aspect else "no labels: the demo corpus has no labelling this instruction is "
                   "meant for, so only the stand-in measures are shown")
    st.caption(f"data/teacher/base.npy and {code('data/teacher/' + name)} (288 rows each, matched by position); "
               f"{labels_said}. Home shows the same files as the mean over 5 splits stratified by topic and "
               "location together; here one split is fitted, stratified by the labels given, so its numbers "
               "differ from Home's by about the spread Home shows.")

with page.guard("Reading your vectors"):
    run: VectorRun = cached.vector_run(spec)
aligned, model = run.aligned, run.model
n, dim = aligned.base.shape
names = spec.names
matched = "by id" if aligned.matched_by == "id" else "by position"
classes = f" · labels: {plain(names[2])}, {len(np.unique(aligned.labels))} classes" if aligned.labels is not None \
    else ""
st.success(f"**{plain(names[0])}**: {n:,} rows × {dim} · **{plain(names[1])}**: {len(aligned.paired):,} rows, "
           f"matched {matched}{classes}")
st.markdown(f"**Map:** `{model.describe()}`, fitted on {len(run.train):,} pairs. Teacher: {teacher}.")


if len(run.test):
    split = f"seed {spec.seed}: fitted on {len(run.train):,} rows, scored on the other {len(run.test):,}"
    if run.stand_in is not None:
        sample = f" ({run.n_scored:,} of them, a seeded sample)" if run.n_scored < len(run.test) else ""
        stand_in_row(run.stand_in, teacher=teacher, split=split + sample)
    if run.scores is not None:
        s = run.scores
        cols = st.columns(3)  # two rows of three: five metrics in a row are cut off at 1024 px
        for col, label, score in zip(cols, ("base", "mapped", "instructed"), (s.base, s.mapped, s.instructed),
                                     strict=True):
            col.metric(f"V-measure {label}", f"{score.mean:.3f}", help=f"± {score.sd:.3f} over 10 k-means seeds")
        cols = st.columns(3)
        cols[0].metric("Retention", retention_text(s),
                       help=f"V mapped / V instructed; n/a when V instructed < {MIN_MEANINGFUL_V}.")
        cols[1].metric("Gap closed", gap_closed_text(s),
                       help=f"(V mapped − V base) / (V instructed − V base); n/a when the gap < {MIN_MEANINGFUL_GAP}.")
        if note := over_tightening_note(s):
            st.caption(note)
        st.plotly_chart(figures.vmeasure_bars({aligned.label_column or "labels": {
            k: getattr(s, k).to_dict() for k in ("base", "mapped", "instructed")}}), key="v_bars")
        st.caption(f"Teacher: {teacher}. Split: {split}. V-measure: k-means (k = {len(np.unique(aligned.labels))} "
                   f"label classes) on {run.n_scored:,} held-out rows, mean ± sd over 10 seeds.")
        if teacher_verdict(s) == "goes against":
            st.info("The instructed vectors cluster these labels worse than the base ones: the teacher did not "
                    "follow the instruction toward them, so the map, which copies the teacher, cannot either.")
        elif teacher_verdict(s) == "ignores":
            st.info("The instructed vectors cluster these labels about as the base ones do: the teacher ignored "
                    "the instruction for them, so there is no gap for the map to close.")
    else:
        st.caption(f"Teacher: {teacher}. Split: {split}. Upload labels to see V-measure.")
else:
    st.info(f"Only {len(aligned.paired):,} of {n:,} rows have instructed vectors: all of them are the training "
            "pairs, so nothing is held out to score against the teacher. Give every row an instructed vector "
            "to see held-out scores.", icon=":material/info:")
    if run.unpaired_scores:
        u = run.unpaired_scores
        cols = st.columns(2)
        cols[0].metric("V-measure base (rows without instructed)", f"{u['base'].mean:.3f}")
        cols[1].metric("V-measure mapped (same rows)", f"{u['mapped'].mean:.3f}",
                       delta=f"{u['mapped'].mean - u['base'].mean:+.3f}")
        st.caption(f"k-means on the {run.n_scored:,} rows that have no instructed vector, mean over 10 seeds.")

st.subheader("Download")
keep = st.checkbox("Where you gave an instructed vector, export it instead of the mapped one", key="v:keep")
vectors = run.mapped.copy()
if keep:
    vectors[aligned.paired] = aligned.instructed
ids = aligned.ids
stem = Path(names[1] or "instructed").stem
left, middle, right = st.columns(3)
left.download_button("Map (safetensors + JSON, .zip)", map_zip(model), file_name=f"map-{stem}.zip",
                     mime="application/zip", key="v_dl_map")
middle.download_button("Mapped vectors (.npy + ids.csv, .zip)", npy_zip(ids, vectors),
                       file_name=f"mapped-{stem}.zip", mime="application/zip", key="v_dl_npy")
right.download_button("Mapped vectors with ids (.parquet)", parquet_bytes(ids, vectors),
                      file_name=f"mapped-{stem}.parquet", key="v_dl_parquet")
st.caption(f"{n:,} rows × {dim} dimensions, float32, in the base file's order. Ids are your file's ids, or row "
           "numbers where it has none. Unpack the map and load it with instructlin.InstructionMap.load(folder); "
           "it maps new base vectors of the same encoder.")
