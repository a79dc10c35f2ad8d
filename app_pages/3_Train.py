"""Train: fit the map (closed-form methods at once, SGD live with a Stop button) and download it."""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

import streamlit as st

from instructlin.cli.options import METHOD_LABELS
from instructlin.core.archive import unpack_map_archive
from instructlin.core.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap
from instructlin.core.metrics import row_cosine
from instructlin.errors import MapArchiveError
from instructlin.pipeline import compose, explore, stages
from instructlin.pipeline.report import gap_closed_text, over_tightening_note, retention_text
from ui import cached, figures, page, state
from ui.standin_view import stand_in_row
from ui.text import code, plain
from ui.training import TrainingJob, name_validation_curves, validation_label

page.setup("Train")

state.widget(st.sidebar.slider, "Train fraction", "train_size", min_value=0.05, max_value=0.9, step=0.05)
state.widget(st.sidebar.number_input, "Seed", "seed", min_value=0, max_value=2**31 - 1)
method = state.widget(st.sidebar.radio, "Method", "method", options=list(METHOD_LABELS),
                      format_func=METHOD_LABELS.get)
if method == "sgd":
    state.widget(st.sidebar.number_input, "Epochs (at most)", "epochs", min_value=1, max_value=5000)
    state.widget(st.sidebar.select_slider, "Learning rate", "learning_rate",
                 options=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
    state.widget(st.sidebar.number_input, "Patience (epochs)", "patience", min_value=1, max_value=5000,
                 help="Training stops after this many epochs without a lower validation loss.")
    state.widget(st.sidebar.number_input, "Pace (ms per epoch, for watching)", "sgd_pace_ms", min_value=0,
                 max_value=1000, help="A pause after each epoch so the curves can be followed; 0 runs at full speed.")

config = page.current_config()
with page.guard("Splitting the data"):
    rows = cached.split(config.split_spec())
train, test = rows.train, rows.test
aspects = [a for a, _ in config.instructions]
aspect = st.selectbox("Instruction to train", aspects, key="train_aspect",
                      format_func=lambda a: f"{a}: {dict(config.instructions)[a]}")
st.caption(f"{len(train)} texts to fit on, {len(test)} held out to score the map.")
page.ensure_embeddings(config)
teacher = page.teacher_name(config)


def show_metrics(result) -> None:
    """The same numbers for every method: cosine to the instructed embeddings and V-measure."""
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
                           f"{len(train)} fitted the map)")


if method == "sgd":
    job: TrainingJob | None = st.session_state.get("sgd_job")
    key = (config, aspect)
    if st.button("Train (SGD)", type="primary", key="sgd_train") and not (job and job.running):
        data, encoder = cached.dataset(config.data_spec()), page.teacher(config)
        emb = cached.embeddings(config.embedding_spec())
        job = TrainingJob(key, lambda callback: compose.fit_and_evaluate(  # on a thread, uncached
            spec=config.evaluation_spec(aspect), dataset=data, embeddings=emb, split=rows,
            metadata=stages.encoder_metadata(encoder), callback=callback),
                          pace_s=state.get("sgd_pace_ms") / 1000).start()
        st.session_state["sgd_job"] = job
    if job is None or job.key != key:
        st.info(f"Press **Train (SGD)**: the loss and the cosine on the {validation_label(len(train))} held out "
                "for early stopping are drawn after every epoch.")
        st.stop()
    chart, note, stop = st.empty(), st.empty(), st.empty()
    if job.running and stop.button("Stop", icon=":material/stop:", key="sgd_stop"):
        job.stop()
    scored_on = validation_label(len(train))
    drawn = 0
    while job.running:  # a click on Stop reruns the page, which finds the job and stops it
        records = list(job.records)
        if len(records) > drawn:
            drawn = len(records)
            chart.plotly_chart(name_validation_curves(figures.training_curves(records), len(train)),
                               key=f"curve{drawn}")
            note.caption(f"epoch {records[-1]['epoch']} · cosine on the {scored_on} "
                         f"{records[-1]['val_cosine']:.4f}")
        job.wait(0.4)
    stop.empty()  # the run has ended: no Stop button left behind
    if job.error is not None:
        st.error(f"Training failed: {job.error}. Try fewer epochs or another learning rate.")
        st.stop()
    chart.plotly_chart(name_validation_curves(figures.training_curves(job.records), len(train)), key="curve_final")
    paced = (f" Paced at {job.pace_s * 1000:.0f} ms per epoch for watching ({job.paused_s:.1f} s of pauses, "
             "not part of the fit)." if job.pace_s else "")
    note.caption(f"{'Stopped' if job.stopped else 'Finished'} after {len(job.records)} epochs "
                 f"(the weights with the best validation loss are kept).{paced}")
    result = job.result
else:
    with page.guard("Fitting the map"):
        result = cached.evaluation(config.evaluation_spec(aspect))
    fitted = result.map
    st.markdown(f"**Estimator that ran:** `{fitted.describe()}`, fitted at once on {len(train)} "
                f"teacher-encoded texts (teacher: {plain(teacher)}).")
    if fitted.cv_results_:
        st.caption("Each dot is one candidate map scored by 5-fold CV on the training pairs alone "
                   "(no labels). Held-out cosine rewards keeping each vector close; similarity-profile "
                   "agreement rewards a held-out vector whose cosines to the other teacher vectors are the "
                   "teacher's own, so it can stand in for re-encoding. The star is the one CV chose.")
        st.plotly_chart(figures.cv_tradeoff(fitted.cv_results_, fitted.describe(), fitted.criterion), key="cv_tradeoff")

show_metrics(result)

st.subheader("How few teacher passes suffice")
if st.button("Draw the learning curve", key="draw_curve",
             help="Fits the map at 16, 32, 64, 128 texts and 20 % of the corpus, 3 seeded splits each."):
    st.session_state["curve_for"] = (config, aspect)
if st.session_state.get("curve_for") == (config, aspect):
    with page.guard("Drawing the learning curve"):
        curve = cached.learning_curve(config.map_spec(aspect))
    st.plotly_chart(figures.learning_curve(curve), key="learning_curve")
    st.caption(f"Teacher: {code(teacher)}, instruction {code(aspect)}. Each point: mean ± sd over 3 seeded "
               "splits of retention, V(mapped) / V(teacher) on the texts not encoded; the map is "
               f"`{'auto' if method == 'sgd' else method}`. **random** is stratified by label, **kcenter** "
               "picks diverse texts from the base embeddings without labels. A missing point is n/a "
               "(the teacher's V under 0.05).")
else:
    st.caption(f"Press the button to see retention against the number of texts given a teacher pass "
               f"({code(teacher)}), chosen at random or by k-center over the base embeddings.")

st.subheader("Download")
with tempfile.TemporaryDirectory() as tmp:
    result.map.save(Path(tmp) / "map")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            archive.write(Path(tmp) / "map" / name, name)
row_ids = cached.dataset(config.data_spec()).row_ids()
npy = explore.npy_with_ids(result.mapped_test, [row_ids[i] for i in test], stem=f"mapped-test-{aspect}")
left, right = st.columns(2)
left.download_button("Map (safetensors + JSON, .zip)", buffer.getvalue(), file_name=f"map-{aspect}.zip",
                     mime="application/zip", key="dl_map")
right.download_button(f"Mapped test embeddings ({len(test)} × {result.mapped_test.shape[1]}, .npy + ids.csv in a .zip)",
                      npy, file_name=f"mapped-test-{aspect}.zip", mime="application/zip", key="dl_npy")

st.subheader("Check a saved map")
upload = st.file_uploader("A map .zip from this page (model.safetensors + config.json)", type=["zip"],
                          key="map_upload")
if upload is not None:
    encoder = page.teacher(config)
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
