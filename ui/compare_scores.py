"""Compare's clustering quality: V-measure bars, retention and gap closed, the cross-instruction matrix
and a contingency table of k-means clusters against the labels."""

from __future__ import annotations

import streamlit as st

from instructlin.core.metrics import MIN_MEANINGFUL_GAP, MIN_MEANINGFUL_V
from instructlin.pipeline.experiment import ExperimentConfig, ExperimentResult
from instructlin.pipeline.held_out import HeldOutPoints
from instructlin.pipeline.specs import EvaluationSpec
from instructlin.pipeline.stage_results import InstructionResult
from instructlin.pipeline.summaries import score_rows
from ui import cached, figures
from ui.text import plain


def clustering_quality(config: ExperimentConfig, result: ExperimentResult, chosen: InstructionResult,
                       spec: EvaluationSpec, points: HeldOutPoints, *, aspect: str, teacher: str) -> None:
    """The chosen instruction's scores against every labelling, then the matrix and the contingency."""
    st.subheader("Clustering quality")
    scores = {label: s.to_dict() for label, s in chosen.scores.items()}
    left, right = st.columns([3, 2])
    left.plotly_chart(figures.vmeasure_bars(scores), key="vbars")
    left.caption(f"k-means V-measure, mean ± sd over {config.n_kmeans_seeds} seeds, on {len(result.test_idx)} "
                 f"held-out texts ({len(result.train_idx)} fitted the map; split seed {config.seed}), embeddings of "
                 f"instruction `{aspect}` scored against each labelling. Teacher: {plain(teacher)}.")
    right.dataframe(score_rows(chosen.scores), hide_index=True)
    right.caption(f"Retention = V(mapped) / V(instructed), n/a when V(instructed) < {MIN_MEANINGFUL_V:g}. Gap "
                  "closed = share of the base → instructed V-measure gap that the map recovers, n/a when that gap "
                  f"is under {MIN_MEANINGFUL_GAP:g}.")

    left, right = st.columns(2)
    left.markdown("**Cross-instruction matrix** (mapped V-measure)")
    left.plotly_chart(figures.matrix_heatmap(result.cross_instruction_matrix(), x_title="scored against labels",
                                             y_title="instruction"), key="cross")
    left.caption(f"Each instruction's mapped held-out embeddings (split seed {config.seed}) scored against each "
                 f"labelling. Teacher: {plain(teacher)}.")
    space = right.radio("Contingency of", ["mapped", "instructed", "base"], horizontal=True, key="cmp_space")
    right.plotly_chart(figures.contingency(cached.clusters(spec, space, points.n_classes(aspect)),
                                           points.labels[aspect]), key="contingency")
