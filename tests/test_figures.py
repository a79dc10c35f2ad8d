"""The app's figure builders are pure: plain data in, plotly figures with the expected traces out."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ui import figures, plot_style, projection_figures  # noqa: E402


def test_figures_module_does_not_import_streamlit():
    import subprocess

    code = "import sys, ui.figures; sys.exit(1 if 'streamlit' in sys.modules else 0)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60).returncode == 0


def test_umap_panels_one_trace_per_class_per_panel_with_row_ids():
    rng = np.random.default_rng(0)
    coords = {s: rng.normal(size=(6, 2)) for s in projection_figures.SPACES}
    colour = ["a", "b", "a", "b", "c", "a"]
    hover = [f"text {i}" for i in range(6)]
    fig = projection_figures.umap_panels(coords, colour, hover, selected=[0, 3])
    assert len(fig.data) == 9  # 3 classes x 3 panels
    assert [a.text for a in fig.layout.annotations] == ["base", "mapped", "instructed"]
    assert [t.showlegend for t in fig.data].count(True) == 3
    axes = {"x": "base", "x2": "mapped", "x3": "instructed"}
    for trace in fig.data:
        space = axes[trace.xaxis]  # which panel the trace is drawn in
        rows = [i for i, c in enumerate(colour) if c == trace.name]
        assert list(trace.customdata) == rows  # the row id of every point
        # every point sits where that panel's coordinates put that row, with that row's hover text
        np.testing.assert_array_equal(np.asarray(trace.x), coords[space][rows, 0])
        np.testing.assert_array_equal(np.asarray(trace.y), coords[space][rows, 1])
        assert list(trace.text) == [hover[i] for i in rows]
        # rows 0 and 3 are selected in every panel: positions within the trace, not row ids
        assert list(trace.selectedpoints) == [j for j, r in enumerate(rows) if r in (0, 3)]
    assert sorted(axes[t.xaxis] for t in fig.data) == sorted(list(projection_figures.SPACES) * 3)


def test_umap_panels_without_selection_selects_nothing():
    coords = {"base": np.zeros((2, 2)), "instructed": np.ones((2, 2))}
    fig = projection_figures.umap_panels(coords, ["x", "y"], ["p", "q"])
    assert len(fig.data) == 4
    assert all(t.selectedpoints is None for t in fig.data)
    assert [a.text for a in fig.layout.annotations] == ["base", "instructed"]  # only the spaces given
    assert [float(t.x[0]) for t in fig.data] == [0.0, 0.0, 1.0, 1.0]  # each panel draws its own space


def test_vmeasure_bars_have_error_bars_per_space():
    # every (labelling, space) cell distinct, so a swapped space, labelling or mean/sd shows
    scores = {label: {space: {"mean": 0.1 * (i + 1) + 0.01 * j, "sd": 0.001 * (3 * i + j + 1)}
                      for j, space in enumerate(projection_figures.SPACES)}
              for i, label in enumerate(("topic", "location"))}
    fig = figures.vmeasure_bars(scores)
    assert [t.name for t in fig.data] == list(projection_figures.SPACES)
    for trace in fig.data:
        assert list(trace.x) == ["topic", "location"]
        assert list(trace.y) == [scores[a][trace.name]["mean"] for a in trace.x]
        assert list(trace.error_y.array) == [scores[a][trace.name]["sd"] for a in trace.x]
    assert fig.data[2].y[1] == scores["location"]["instructed"]["mean"]  # the last cell is the last cell


def test_heatmaps_count_and_label():
    fig = figures.contingency([0, 0, 1, 1, 1], ["a", "a", "b", "b", "a"])
    assert fig.data[0].z.tolist() == [[2, 0], [1, 2]]
    assert list(fig.data[0].x) == ["a", "b"] and list(fig.data[0].y) == ["cluster 0", "cluster 1"]
    # rows are instructions, columns labellings; every cell distinct, so a transposed matrix shows
    matrix = {"topic": {"topic": 0.9, "location": 0.2}, "location": {"topic": 0.3, "location": 0.7}}
    cross = figures.matrix_heatmap(matrix, x_title="labels", y_title="instruction")
    heat = cross.data[0]
    assert list(heat.y) == ["topic", "location"] and list(heat.x) == ["topic", "location"]
    for i, row in enumerate(heat.y):
        for j, col in enumerate(heat.x):
            assert heat.z[i][j] == matrix[row][col]
    assert cross.layout.xaxis.title.text == "labels" and cross.layout.yaxis.title.text == "instruction"


def test_timing_and_break_even():
    seconds = {"base encode": 2.0, "full re-encode": 2.5, "fit map": 0.04, "map test part": 0.001}
    bars = figures.timing_bars(seconds)
    assert bars.layout.yaxis.type == "log"
    assert list(bars.data[0].x) == list(seconds) and list(bars.data[0].y) == list(seconds.values())
    assert list(bars.data[0].text) == ["2 s", "2.5 s", "0.04 s", "0.001 s"]
    ns, reencode, mapped = [1, 2, 3], [1.0, 2.0, 3.0], [1.5, 1.7, 1.9]
    curve = figures.break_even(ns, reencode, mapped)
    assert [t.name for t in curve.data] == ["N full re-encodes", "1 base encode + N maps"]
    assert [list(t.x) for t in curve.data] == [ns, ns]
    assert list(curve.data[0].y) == reencode and list(curve.data[1].y) == mapped  # not swapped


def test_training_curves_and_data_figures():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_cosine": 1 - 1 / (e + 1)}
               for e in range(1, 4)]
    curves = figures.training_curves(history)
    assert [t.name for t in curves.data] == ["train loss", "held-out loss", "held-out cosine"]
    for trace, key in zip(curves.data, ("train_loss", "val_loss", "val_cosine"), strict=True):
        assert list(trace.x) == [1, 2, 3] and list(trace.y) == [h[key] for h in history]
    assert curves.data[2].xaxis == "x2"  # the cosine in its own panel, the losses together
    cv = [{"method": "ridge", "prior": "zero", "alpha": 0.1, "size": None, "neighbours": 0.5, "cosine": 0.9},
          {"method": "pca-ridge", "prior": "zero", "alpha": 1.0, "size": 16, "neighbours": 0.7, "cosine": 0.8},
          {"method": "ridge", "prior": "identity", "alpha": 3.0, "size": None, "neighbours": 0.6, "cosine": 0.95}]
    tradeoff = figures.cv_tradeoff(cv, "pca-ridge k=16", "neighbours")
    assert len(tradeoff.data) == 3 and tradeoff.data[-1].y == (0.7,)  # the chosen star: best 10-NN
    assert tradeoff.data[-1].x == (0.8,) and tradeoff.data[-1].name == "chosen: pca-ridge k=16"
    ridge = next(t for t in tradeoff.data if t.name == "ridge")
    assert ridge.x == (0.9, 0.95) and ridge.y == (0.5, 0.6)
    assert list(ridge.text) == ["ridge prior=zero alpha=0.1", "ridge prior=identity alpha=3"]
    profile = [{**r, "profile": p} for r, p in zip(cv, (0.80, 0.75, 0.85), strict=True)]
    by_profile = figures.cv_tradeoff(profile, "ridge alpha=3")  # the default criterion
    assert by_profile.data[-1].y == (0.85,) and by_profile.data[-1].x == (0.95,)
    assert by_profile.layout.yaxis.title.text == figures.CV_SCORE_TITLES["profile"]
    curve = figures.learning_curve([
        {"selection": "random", "n_train": 32, "retention": 0.8, "retention_sd": 0.1},
        {"selection": "random", "n_train": 16, "retention": 0.6, "retention_sd": 0.05},
        {"selection": "kcenter", "n_train": 16, "retention": 0.7, "retention_sd": 0.0}])
    assert len(curve.data) == 2 and curve.data[1].x == (16, 32)  # sorted by size within a selection
    assert curve.data[1].y == (0.6, 0.8) and curve.data[1].error_y.array == (0.05, 0.1)  # rows kept whole
    assert curve.data[0].name == "kcenter" and curve.data[0].y == (0.7,)
    dist = figures.label_distribution({"topic": ["a", "b", "a"], "place": ["x", "x", "y", "z"]})
    assert [t.name for t in dist.data] == ["topic", "place"]
    assert list(dist.data[0].x) == ["a", "b"] and list(dist.data[0].y) == [2, 1]  # class counts
    assert list(dist.data[1].x) == ["x", "y", "z"] and list(dist.data[1].y) == [2, 1, 1]
    assert list(figures.length_histogram([10, 20, 30]).data[0].x) == [10, 20, 30]
    assert len(figures.pipeline_diagram().layout.annotations) > 6


def test_linked_hover_page_is_standalone_and_links_panels_by_row_id():
    coords = {s: np.random.default_rng(0).normal(size=(6, 2)) for s in projection_figures.SPACES}
    fig = projection_figures.umap_panels(coords, list("aabbcc"), [f"text {i}" for i in range(6)], webgl=False)
    assert {type(t).__name__ for t in fig.data} == {"Scatter"}
    html = projection_figures.linked_hover_html(fig)
    assert html.lower().startswith("<!doctype html>") and "plotly_hover" in html and "Plotly.Fx.hover" in html
    assert '<script src="http' not in html and len(html) > 1_000_000  # plotly.js inlined: works offline


def test_umap_panels_hover_names_corpus_ids_not_row_numbers():
    coords = {s: np.random.default_rng(2).normal(size=(3, 2)) for s in projection_figures.SPACES}
    texts = ["Short one.", "A long text " * 20, "<b>bold</b> & more"]
    hover = plot_style.hover_text(["news-017", "news-200", "x<1>"], texts, {"topic": ["crime", "sport", "crime"]},
                               chars=40)
    assert hover[0] == "<b>news-017 · crime</b><br>Short one."
    head, body = hover[1].split("<br>")
    assert head == "<b>news-200 · sport</b>" and body.endswith("…") and len(body) <= 41  # one short line
    assert "&lt;1&gt;" in hover[2] and "&lt;b&gt;bold" in hover[2]  # user text cannot inject markup
    fig = projection_figures.umap_panels(coords, ["crime", "sport", "crime"], hover)
    for trace in fig.data:
        assert "customdata" not in trace.hovertemplate  # the test-row position never shows
        assert [t.split("</b>")[0] for t in trace.text] == [hover[i].split("</b>")[0] for i in trace.customdata]
    label = fig.layout.hoverlabel
    assert label.font.size <= 11 and "rgba" in label.bgcolor  # small and see-through


def test_kmeans_clusters_get_their_own_palette_and_natural_order():
    coords = {s: np.zeros((12, 2)) for s in projection_figures.SPACES}
    clusters = [f"cluster {i}" for i in range(12)]
    fig = projection_figures.umap_panels(coords, clusters, clusters, palette=plot_style.CLUSTER_PALETTE,
                                         symbol="diamond")
    first = [t for t in fig.data if t.xaxis == "x"]
    assert [t.name for t in first] == clusters  # cluster 2 before cluster 10
    used = [t.marker.color for t in first]
    assert used == list(plot_style.CLUSTER_PALETTE[:12]) and not set(used) & set(plot_style.PALETTE)
    assert {t.marker.symbol for t in fig.data} == {"diamond"}
    labels = projection_figures.umap_panels(coords, clusters, clusters)
    assert [t.marker.color for t in labels.data if t.xaxis == "x"] == list(plot_style.PALETTE[:12])


def test_umap_panels_leave_room_for_the_toolbar_above_the_titles():
    coords = {s: np.zeros((2, 2)) for s in projection_figures.SPACES}
    fig = projection_figures.umap_panels(coords, ["a", "b"], ["p", "q"])
    assert fig.layout.margin.t >= plot_style.TOOLBAR_MARGIN >= 60  # the toolbar is about 30 px, titles 20 px
    assert all(a.yanchor == "bottom" and a.y == 1.0 for a in fig.layout.annotations)  # titles hug the panels


def test_log_axes_label_each_decade_in_plain_units():
    bars = figures.timing_bars({"base encode": 2.0, "fit map": 0.04, "map test part": 0.0004})
    axis = bars.layout.yaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])
    assert list(axis.ticktext) == ["0.1 ms", "1 ms", "10 ms", "0.1 s", "1 s", "10 s"]
    curve = figures.learning_curve([{"selection": "random", "n_train": n, "retention": 0.5, "retention_sd": 0.0}
                                    for n in (8, 16, 32, 64)])
    assert curve.layout.xaxis.type == "log" and list(curve.layout.xaxis.tickvals) == [8, 16, 32, 64]
    assert list(curve.layout.xaxis.ticktext) == ["8", "16", "32", "64"]
    history = [{"epoch": e, "train_loss": 0.5 / e ** 2, "val_loss": 0.6 / e ** 2, "val_cosine": 0.9}
               for e in range(1, 11)]
    loss = figures.training_curves(history).layout.yaxis
    assert loss.type == "log" and list(loss.ticktext) == ["0.001", "0.01", "0.1", "1"]
    assert plot_style.log_ticks([0.0, float("nan")]) == {"type": "log"}  # nothing positive: plotly's own ticks
