"""The Train page's parts: the closed-form fit with its CV chart, the scores, the learning curve, the
downloads, and a saved map checked against this split."""

from __future__ import annotations

import io
import tempfile
import time

import numpy as np
import streamlit as st

from instructlin.core.archive import map_zip, unpack_map_archive
from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import row_cosine
from instructlin.errors import MapArchiveError
from instructlin.io.vector_zip import vectors_zip
from instructlin.pipeline.config import ExperimentConfig
from instructlin.pipeline.report import gap_closed_text, over_tightening_note, retention_text
from instructlin.pipeline.stage_results import InstructionResult, Split
from ui import cached, figures, page
from ui.standin_view import stand_in_row
from ui.text import code, plain


def closed_form(config: ExperimentConfig, aspect: str, n_train: int, teacher: str) -> InstructionResult:
    """The map fitted at once (cached), the estimator that ran, and its CV candidates."""
    with page.guard("Fitting the map"):
        result = cached.evaluation(config.evaluation_spec(aspect))
    fitted = result.map
    st.markdown(f"**Estimator that ran:** `{fitted.describe()}`, fitted at once on {n_train} "
                f"teacher-encoded texts (teacher: {plain(teacher)}).")
    if fitted.cv_results_:
        st.caption("Each dot is one candidate map scored by 5-fold CV on the training pairs alone "
                   "(no labels). Held-out cosine rewards keeping each vector close; similarity-profile "
                   "agreement rewards a held-out vector whose cosines to the other teacher vectors are the "
                   "teacher's own, so it can stand in for re-encoding. The star is the one CV chose.")
        st.plotly_chart(figures.cv_tradeoff(fitted.cv_results_, fitted.describe(), fitted.criterion),
                        key="cv_tradeoff")
    return result


def scores(result: InstructionResult, config: ExperimentConfig, n_train: int, teacher: str) -> None:
    """The same numbers for every method: V-measure, retention, and the stand-in measures."""
    own = result.scores[result.aspect]
    cols = st.columns(2)
    cols[0].metric("V-measure, mapped", f"{own.mapped.mean:.3f}",
                   help=f"against {code(result.aspect)} labels; base {own.base.mean:.3f} · "
                        f"instructed {own.instructed.mean:.3f}")
    cols[1].metric("Retention", retention_text(own), help=f"gap closed {gap_closed_text(own)}")
    st.caption(f"k-means V-measure against the {code(result.aspect)} labels, mean over {config.n_kmeans_seeds} "
               f"seeds. Retention = V mapped / V instructed. Teacher: {plain(teacher)}. Split: the "
               f"{len(result.mapped_test)} held-out texts (split seed {config.seed}).")
    if note := over_tightening_note(own):
        st.caption(note)
    if result.stand_in is not None:
        stand_in_row(result.stand_in, teacher=teacher,
                     split=f"the {len(result.mapped_test)} held-out texts (split seed {config.seed}, "
                           f"{n_train} fitted the map)")


def learning_curve(config: ExperimentConfig, aspect: str, method: str, teacher: str) -> None:
    """Retention against the number of teacher-encoded texts, drawn on request (it fits many maps)."""
    st.subheader("How few teacher passes suffice")
    if st.button("Draw the learning curve", key="draw_curve",
                 help="Fits the map at 16, 32, 64, 128 texts and 20 % of the corpus, 3 seeded splits each."):
        st.session_state["curve_for"] = (config, aspect)
    if st.session_state.get("curve_for") != (config, aspect):
        st.caption(f"Press the button to see retention against the number of texts given a teacher pass "
                   f"({code(teacher)}), chosen at random or by k-center over the base embeddings.")
        return
    with page.guard("Drawing the learning curve"):
        curve = cached.learning_curve(config.map_spec(aspect))
    st.plotly_chart(figures.learning_curve(curve), key="learning_curve")
    st.caption(f"Teacher: {code(teacher)}, instruction {code(aspect)}. Each point: mean ± sd over 3 seeded "
               "splits of retention, V(mapped) / V(teacher) on the texts not encoded (k-means over "
               f"{cached.CURVE_KMEANS_SEEDS} seeds); the map is `{'auto' if method == 'sgd' else method}`. "
               "**random** is stratified by label, **kcenter** picks diverse texts from the base embeddings "
               "without labels. A missing point is n/a (the teacher's V under 0.05). On a few hundred texts "
               "a point moves by 0.05 or more with the splits and k-means seeds: read the trend, not one "
               "point's second decimal.")


def downloads(config: ExperimentConfig, aspect: str, result: InstructionResult, test: np.ndarray) -> None:
    """The map (safetensors + JSON) and the mapped test vectors with their corpus ids, each a .zip."""
    st.subheader("Download")
    row_ids = cached.dataset(config.data_spec()).row_ids()
    left, right = st.columns(2)
    left.download_button("Map (safetensors + JSON, .zip)", map_zip(result.map), file_name=f"map-{aspect}.zip",
                         mime="application/zip", key="dl_map")
    right.download_button(
        f"Mapped test embeddings ({len(test)} × {result.mapped_test.shape[1]}, .npy + ids.csv in a .zip)",
        vectors_zip(result.mapped_test, [row_ids[i] for i in test], stem=f"mapped-test-{aspect}"),
        file_name=f"mapped-test-{aspect}.zip", mime="application/zip", key="dl_npy")


def check_saved_map(config: ExperimentConfig, aspect: str, rows: Split) -> None:
    """A map .zip uploaded back: unpacked with its sizes checked, then scored on this split's held-out texts."""
    st.subheader("Check a saved map")
    upload = st.file_uploader("A map .zip from this page (model.safetensors + config.json)", type=["zip"],
                              key="map_upload")
    if upload is None:
        return
    encoder, test = page.teacher(config), rows.test
    with page.guard("Loading the map"), tempfile.TemporaryDirectory() as tmp:
        try:  # sizes and dimensions are checked against config.json before anything unpacks
            unpack_map_archive(io.BytesIO(upload.getvalue()), tmp, expected_dims=(encoder.dim, encoder.dim))
        except MapArchiveError as err:
            raise ValueError(f"{upload.name} was refused. {err} Download a map above.") from None  # guard escapes it
        loaded = InstructionMap.load(tmp)
    with page.guard("Checking the map"):
        loaded.check_compatible(dim=encoder.dim, encoder_id=encoder.model_id)
    emb = cached.embeddings(config.embedding_spec())
    start = time.perf_counter()
    mapped = loaded.transform(emb.base[test])
    cosine = row_cosine(mapped, emb.instructed[aspect][test]).mean()
    fitted_for = loaded.metadata_.get("aspect", "?") if isinstance(loaded.metadata_, dict) else "?"
    st.success(f"{plain(upload.name)}: d={loaded.n_features_in_}, fitted for "
               f"{code(fitted_for)}; mapped {len(test)} texts in "
               f"{(time.perf_counter() - start) * 1e3:.1f} ms, held-out cosine to {code(aspect)} {cosine:.4f}.")
