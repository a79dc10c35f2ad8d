"""The app's figure builders are pure: plain data in, plotly figures with the expected traces out."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ui import figures  # noqa: E402


def test_figures_module_does_not_import_streamlit():
    import subprocess

    code = "import sys, ui.figures; sys.exit(1 if 'streamlit' in sys.modules else 0)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60).returncode == 0


def test_umap_panels_one_trace_per_class_per_panel_with_row_ids():
    rng = np.random.default_rng(0)
    coords = {s: rng.normal(size=(6, 2)) for s in figures.SPACES}
    fig = figures.umap_panels(coords, ["a", "b", "a", "b", "c", "a"], [f"text {i}" for i in range(6)],
                              selected=[0, 3])
    assert len(fig.data) == 9  # 3 classes x 3 panels
    assert [a.text for a in fig.layout.annotations] == ["base", "mapped", "instructed"]
    first = fig.data[0]  # class "a" in the base panel: rows 0, 2, 5
    assert list(first.customdata) == [0, 2, 5]
    assert list(first.selectedpoints) == [0]  # row 0 is selected
    assert [t.showlegend for t in fig.data].count(True) == 3


def test_umap_panels_without_selection_selects_nothing():
    coords = {"base": np.zeros((2, 2)), "instructed": np.ones((2, 2))}
    fig = figures.umap_panels(coords, ["x", "y"], ["p", "q"])
    assert len(fig.data) == 4
    assert all(t.selectedpoints is None for t in fig.data)


def test_vmeasure_bars_have_error_bars_per_space():
    score = {"mean": 0.5, "sd": 0.1}
    fig = figures.vmeasure_bars({"topic": {s: score for s in figures.SPACES},
                                 "location": {s: score for s in figures.SPACES}})
    assert [t.name for t in fig.data] == list(figures.SPACES)
    assert list(fig.data[1].error_y.array) == [0.1, 0.1]
    assert list(fig.data[0].x) == ["topic", "location"]


def test_heatmaps_count_and_label():
    fig = figures.contingency([0, 0, 1, 1, 1], ["a", "a", "b", "b", "a"])
    assert fig.data[0].z.tolist() == [[2, 0], [1, 2]]
    cross = figures.matrix_heatmap({"topic": {"topic": 0.9, "location": 0.2}}, x_title="l", y_title="i")
    assert list(cross.data[0].x) == ["topic", "location"]


def test_timing_and_break_even():
    bars = figures.timing_bars({"base encode": 2.0, "map test part": 0.001})
    assert bars.layout.yaxis.type == "log"
    curve = figures.break_even([1, 2, 3], [1.0, 2.0, 3.0], [1.5, 1.7, 1.9])
    assert [t.name for t in curve.data] == ["N full re-encodes", "1 base encode + N maps"]


def test_training_curves_and_data_figures():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_cosine": 1 - 1 / (e + 1)}
               for e in range(1, 4)]
    assert len(figures.training_curves(history).data) == 3
    cv = [{"method": "ridge", "prior": "zero", "alpha": 0.1, "size": None, "neighbours": 0.5, "cosine": 0.9},
          {"method": "pca-ridge", "prior": "zero", "alpha": 1.0, "size": 16, "neighbours": 0.7, "cosine": 0.8}]
    tradeoff = figures.cv_tradeoff(cv, "pca-ridge k=16")
    assert len(tradeoff.data) == 3 and tradeoff.data[-1].y == (0.7,)  # the chosen star: best 10-NN
    curve = figures.learning_curve([
        {"selection": "random", "n_train": 32, "retention": 0.8, "retention_sd": 0.1},
        {"selection": "random", "n_train": 16, "retention": 0.6, "retention_sd": 0.1},
        {"selection": "kcenter", "n_train": 16, "retention": 0.7, "retention_sd": 0.0}])
    assert len(curve.data) == 2 and curve.data[1].x == (16, 32)  # sorted by size within a selection
    assert len(figures.label_distribution({"topic": ["a", "b", "a"], "place": ["x", "x", "y"]}).data) == 2
    assert len(figures.length_histogram([10, 20, 30]).data) == 1
    assert len(figures.pipeline_diagram().layout.annotations) > 6


def test_linked_hover_page_is_standalone_and_links_panels_by_row_id():
    coords = {s: np.random.default_rng(0).normal(size=(6, 2)) for s in figures.SPACES}
    fig = figures.umap_panels(coords, list("aabbcc"), [f"text {i}" for i in range(6)], webgl=False)
    assert {type(t).__name__ for t in fig.data} == {"Scatter"}
    html = figures.linked_hover_html(fig)
    assert html.lower().startswith("<!doctype html>") and "plotly_hover" in html and "Plotly.Fx.hover" in html
    assert '<script src="http' not in html and len(html) > 1_000_000  # plotly.js inlined: works offline
