"""Every page on the shipped teacher pack (EmbeddingGemma-300m, precomputed): the default source offline."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

from streamlit.testing.v1 import AppTest  # noqa: E402

from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST  # noqa: E402
from tests.conftest import assert_ok, metric, page_texts, start_page  # noqa: E402
from tests.rendered import shown  # noqa: E402

TEACHER = "EmbeddingGemma-300m, precomputed"
PAGES = ["app_pages/1_Data.py", "app_pages/2_Embeddings.py", "app_pages/3_Train.py", "app_pages/4_Compare.py",
         "app_pages/5_Timing.py"]

if not (DEMO_PACK_DIR / MANIFEST).exists():
    pytest.skip("no embedding pack in data/teacher", allow_module_level=True)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def app(script: str, **state) -> AppTest:
    """``script`` opened through app.py's navigation, so ``switch_page`` moves to another page as a click does."""
    return start_page(script, state={"device": "cpu", **state}, navigate=True, timeout=180)


def everything(at: AppTest) -> str:
    """All the text a page shows, sidebar included, as the visitor reads it."""
    return " ".join(page_texts(at))


@pytest.mark.parametrize("script", PAGES, ids=[Path(p).stem for p in PAGES])
def test_every_page_runs_on_the_pack_by_default_and_names_the_teacher(script):
    at = app(script)
    assert_ok(at)
    assert at.session_state["embeddings"] == "pack"  # a fresh visitor's default
    assert TEACHER in everything(at)
    assert not at.get("progress") and not [b for b in at.button if b.key in ("encode", "measure")], \
        "nothing is encoded or clocked on the pack"


def test_train_on_the_pack_maps_closer_to_the_teacher_than_no_map():
    """The default map on the location instruction: the library's numbers (README: cosine 0.973 against 0.824
    without a map, recall@10 0.833 against 0.760), shown green."""
    from instructlin.pipeline.experiment import ExperimentConfig, run_experiment

    expected = run_experiment(ExperimentConfig(data="demo", pack=str(DEMO_PACK_DIR), measure_timing=False,
                                               n_kmeans_seeds=2)).instruction("location").stand_in
    assert expected.cosine_mapped > expected.cosine_base + 0.1 and expected.recall10_mapped > expected.recall10_base
    at = app("app_pages/3_Train.py")
    at.selectbox(key="train_aspect").set_value("location").run()
    assert_ok(at)
    cosine, recall = metric(at, "Cosine to the teacher"), metric(at, "Teacher's neighbours kept")
    assert cosine.value == f"{expected.cosine_mapped:.3f}" and recall.value == f"{expected.recall10_mapped:.2f}"
    assert cosine.delta == f"{expected.cosine_mapped - expected.cosine_base:+.3f} vs no map"
    assert recall.delta == f"{expected.recall10_mapped - expected.recall10_base:+.2f} vs no map"
    assert cosine.proto.color == recall.proto.color  # both beyond the noise threshold, both the normal colouring
    assert "Teacher: EmbeddingGemma-300m, precomputed" in everything(at)


def test_red_only_beyond_the_noise_threshold():
    from ui.standin_view import WORSE_BY, delta_colour

    assert delta_colour(-0.005, WORSE_BY["cosine"]) == "off"  # a small drop is grey, not red
    assert delta_colour(-0.05, WORSE_BY["cosine"]) == "normal"  # a real drop is red
    assert delta_colour(0.015, WORSE_BY["recall"]) == "off"
    assert delta_colour(0.15, WORSE_BY["cosine"]) == "normal"


def test_the_pack_instructions_are_the_manifests_for_each_labelling():
    at = app("app_pages/2_Embeddings.py")
    location = at.selectbox(key="w:pack:location")
    assert location.options == ["Identify the location where the given news article happened",
                                "Where did the news happen?", "Which country is this article about?"]
    location.set_value("Where did the news happen?").run()
    assert_ok(at)
    assert at.session_state["pack_instructions"]["location"] == "Where did the news happen?"
    at.switch_page("app_pages/3_Train.py").run()
    assert_ok(at)
    assert "location: Where did the news happen?" in at.selectbox(key="train_aspect").options


def test_the_pack_starts_from_homes_instructions():
    from ui.home import HOME_INSTRUCTIONS
    from ui.pack_source import PACK_INSTRUCTIONS

    assert PACK_INSTRUCTIONS == HOME_INSTRUCTIONS  # a class moving from Home to Train sees the same teacher run
    at = app("app_pages/3_Train.py")
    assert at.selectbox(key="train_aspect").options == ["topic: Summarize the article in one sentence",
                                                        "location: Identify the location where the given news "
                                                        "article happened"]


def test_the_source_choice_survives_a_page_switch_both_ways():
    at = app("app_pages/1_Data.py", encoder="minilm", n_per_class=4)
    at.radio(key="w:embeddings").set_value("encoder").run()
    assert at.session_state["embeddings"] == "encoder"
    at.switch_page("app_pages/3_Train.py").run()
    assert at.radio(key="w:embeddings").value == "encoder"
    assert "encoder `minilm`, live" in everything(at) and TEACHER not in everything(at)
    at.radio(key="w:embeddings").set_value("pack").run()
    at.switch_page("app_pages/1_Data.py").run()
    assert_ok(at)
    assert at.radio(key="w:embeddings").value == "pack" and TEACHER in everything(at)


def test_a_bad_address_bar_source_falls_back_to_the_pack():
    at = start_page("app_pages/1_Data.py", query={"embeddings": "somewhere"})
    assert not at.exception
    assert any("embeddings=somewhere" in shown(w) for w in at.warning)
    assert at.session_state["embeddings"] == "pack"


def test_without_a_readable_pack_the_pages_run_the_live_encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTLIN_PACK", str(tmp_path / "absent"))
    at = app("app_pages/1_Data.py")
    assert_ok(at)
    assert at.session_state["embeddings"] == "encoder" and not [r for r in at.radio if r.key == "w:embeddings"]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MANIFEST).write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("INSTRUCTLIN_PACK", str(tmp_path / "broken"))
    at = app("app_pages/1_Data.py")
    assert not at.exception and at.session_state["embeddings"] == "encoder"
    assert any("teacher pack cannot be read" in shown(w) and "not valid JSON" in shown(w) for w in at.sidebar.warning)
