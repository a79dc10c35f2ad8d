"""The Train page's SGD: its sidebar settings, and a fit on a thread drawn epoch by epoch with a Stop button."""

from __future__ import annotations

from typing import Any

import streamlit as st

from instructlin.pipeline import compose, stages
from instructlin.pipeline.config import ExperimentConfig
from instructlin.pipeline.stage_results import InstructionResult, Split
from ui import cached, figures, page, state
from ui.training import TrainingJob, name_validation_curves, validation_label


def settings() -> None:
    """The SGD settings in the sidebar (epochs, learning rate, patience, pace)."""
    state.widget(st.sidebar.number_input, "Epochs (at most)", "epochs", min_value=1, max_value=5000)
    state.widget(st.sidebar.select_slider, "Learning rate", "learning_rate",
                 options=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
    state.widget(st.sidebar.number_input, "Patience (epochs)", "patience", min_value=1, max_value=5000,
                 help="Training stops after this many epochs without a lower validation loss.")
    state.widget(st.sidebar.number_input, "Pace (ms per epoch, for watching)", "sgd_pace_ms", min_value=0,
                 max_value=1000, help="A pause after each epoch so the curves can be followed; 0 runs at full speed.")


def _start(config: ExperimentConfig, aspect: str, rows: Split, key: Any) -> TrainingJob:
    data, encoder = cached.dataset(config.data_spec()), page.teacher(config)
    emb = cached.embeddings(config.embedding_spec())
    job = TrainingJob(key, lambda callback: compose.fit_and_evaluate(  # on a thread, uncached
        spec=config.evaluation_spec(aspect), dataset=data, embeddings=emb, split=rows,
        metadata=stages.encoder_metadata(encoder), callback=callback), pace_s=state.get("sgd_pace_ms") / 1000)
    return job.start()


def live_result(config: ExperimentConfig, aspect: str, rows: Split) -> InstructionResult:
    """Train on a button press and draw the loss and validation cosine after every epoch; the page stops
    here until a run for this config and instruction has ended."""
    n_train = len(rows.train)
    job: TrainingJob | None = st.session_state.get("sgd_job")
    key = (config, aspect)
    if st.button("Train (SGD)", type="primary", key="sgd_train") and not (job and job.running):
        job = st.session_state["sgd_job"] = _start(config, aspect, rows, key)
    if job is None or job.key != key:
        st.info(f"Press **Train (SGD)**: the loss and the cosine on the {validation_label(n_train)} held out "
                "for early stopping are drawn after every epoch.")
        st.stop()
    chart, note, stop = st.empty(), st.empty(), st.empty()
    if job.running and stop.button("Stop", icon=":material/stop:", key="sgd_stop"):
        job.stop()
    scored_on, drawn = validation_label(n_train), 0
    while job.running:  # a click on Stop reruns the page, which finds the job and stops it
        records = list(job.records)
        if len(records) > drawn:
            drawn = len(records)
            chart.plotly_chart(name_validation_curves(figures.training_curves(records), n_train), key=f"curve{drawn}")
            note.caption(f"epoch {records[-1]['epoch']} · cosine on the {scored_on} {records[-1]['val_cosine']:.4f}")
        job.wait(0.4)
    stop.empty()  # the run has ended: no Stop button left behind
    if job.error is not None:
        st.error(f"Training failed: {job.error}. Try fewer epochs or another learning rate.")
        st.stop()
    chart.plotly_chart(name_validation_curves(figures.training_curves(job.records), n_train), key="curve_final")
    paced = (f" Paced at {job.pace_s * 1000:.0f} ms per epoch for watching ({job.paused_s:.1f} s of pauses, "
             "not part of the fit)." if job.pace_s else "")
    note.caption(f"{'Stopped' if job.stopped else 'Finished'} after {len(job.records)} epochs "
                 f"(the weights with the best validation loss are kept).{paced}")
    return job.result
