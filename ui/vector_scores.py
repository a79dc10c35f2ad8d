"""What the Your vectors page shows of a run: the held-out stand-in measures and V-measure (or, with only
some rows instructed, V-measure of the rest), and the downloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from instructlin.core.archive import map_zip
from instructlin.core.metrics import MIN_MEANINGFUL_GAP, MIN_MEANINGFUL_V
from instructlin.io.vector_zip import vectors_zip
from instructlin.pipeline.report import gap_closed_text, over_tightening_note, retention_text, teacher_verdict
from instructlin.vectors.runs import VectorRun, VectorSpec, exported_vectors, parquet_bytes
from ui import figures
from ui.standin_view import stand_in_row

VERDICTS = {
    "goes against": "The instructed vectors cluster these labels worse than the base ones: the teacher did not "
                    "follow the instruction toward them, so the map, which copies the teacher, cannot either.",
    "ignores": "The instructed vectors cluster these labels about as the base ones do: the teacher ignored "
               "the instruction for them, so there is no gap for the map to close.",
}


def held_out(run: VectorRun, spec: VectorSpec, *, teacher: str) -> None:
    """Every row instructed: the stand-in measures and, with labels, V-measure on the held-out rows."""
    aligned = run.aligned
    split = f"seed {spec.seed}: fitted on {len(run.train):,} rows, scored on the other {len(run.test):,}"
    if run.stand_in is not None:
        sample = f" ({run.n_scored:,} of them, a seeded sample)" if run.n_scored < len(run.test) else ""
        stand_in_row(run.stand_in, teacher=teacher, split=split + sample)
    if run.scores is None:
        st.caption(f"Teacher: {teacher}. Split: {split}. Upload labels to see V-measure.")
        return
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
    if verdict := VERDICTS.get(teacher_verdict(s)):
        st.info(verdict)


def unpaired(run: VectorRun) -> None:
    """Only some rows instructed: nothing to score against the teacher, V-measure of the other rows."""
    aligned = run.aligned
    st.info(f"Only {len(aligned.paired):,} of {len(aligned.base):,} rows have instructed vectors: all of them are "
            "the training pairs, so nothing is held out to score against the teacher. Give every row an instructed "
            "vector to see held-out scores.", icon=":material/info:")
    if run.unpaired_scores:
        u = run.unpaired_scores
        cols = st.columns(2)
        cols[0].metric("V-measure base (rows without instructed)", f"{u['base'].mean:.3f}")
        cols[1].metric("V-measure mapped (same rows)", f"{u['mapped'].mean:.3f}",
                       delta=f"{u['mapped'].mean - u['base'].mean:+.3f}")
        st.caption(f"k-means on the {run.n_scored:,} rows that have no instructed vector, mean over 10 seeds.")


def downloads(run: VectorRun, spec: VectorSpec) -> None:
    """The map and the mapped vectors (optionally with the given instructed ones kept), with their ids."""
    st.subheader("Download")
    keep = st.checkbox("Where you gave an instructed vector, export it instead of the mapped one", key="v:keep")
    vectors, ids = exported_vectors(run, keep_instructed=keep), run.aligned.ids
    stem = Path(spec.names[1] or "instructed").stem
    left, middle, right = st.columns(3)
    left.download_button("Map (safetensors + JSON, .zip)", map_zip(run.model), file_name=f"map-{stem}.zip",
                         mime="application/zip", key="v_dl_map")
    middle.download_button("Mapped vectors (.npy + ids.csv, .zip)", vectors_zip(vectors, ids),
                           file_name=f"mapped-{stem}.zip", mime="application/zip", key="v_dl_npy")
    right.download_button("Mapped vectors with ids (.parquet)", parquet_bytes(ids, vectors),
                          file_name=f"mapped-{stem}.parquet", key="v_dl_parquet")
    n, dim = run.aligned.base.shape
    st.caption(f"{n:,} rows × {dim} dimensions, float32, in the base file's order. Ids are your file's ids, or row "
               "numbers where it has none. Unpack the map and load it with instructlin.InstructionMap.load(folder); "
               "it maps new base vectors of the same encoder.")
