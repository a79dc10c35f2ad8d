"""Upload regressions: map archives checked before unpacking, names shown as plain text, a capped store."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.reliability import Case, params
from tests.rendered import shown
from tests.test_app_security import app, rendered, serve_plainly, table

LINK_NAME = "[click](http://example.com)"


@pytest.fixture(autouse=True)
def _served(tmp_path_factory, monkeypatch):
    serve_plainly(monkeypatch, tmp_path_factory.getbasetemp() / "app-cache")


# --- map archives: sizes checked before anything is unpacked -----------------------------------------------


def map_zip(folder: Path, *, dims: tuple[int, int] = (8, 8), config_pad: int = 0, weights_mib: int = 0) -> bytes:
    """A map .zip: a real 8-d map, optionally with a padded config, other declared dims or huge weights."""
    from instructlin.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap

    rng = np.random.default_rng(0)
    InstructionMap("procrustes").fit(rng.normal(size=(10, 8)), rng.normal(size=(10, 8))).save(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        config["n_features_in"], config["n_features_out"] = dims
        archive.writestr(CONFIG_FILE, json.dumps(config) + " " * config_pad)
        if weights_mib:
            with archive.open(WEIGHTS_FILE, "w", force_zip64=True) as out:
                for _ in range(weights_mib):
                    out.write(bytes(2**20))
        else:
            archive.write(folder / WEIGHTS_FILE, WEIGHTS_FILE)
    return buffer.getvalue()


MAP_CASES = [
    Case("a map .zip whose model.safetensors unpacks to 256 MiB", "app Train page, map upload",
         "refused before unpacking: the error gives the size the declared dimensions allow",
         {"zip": {"weights_mib": 256}, "says": ["model.safetensors", "at most"]}),
    Case("a map .zip whose config.json is 2 MB", "app Train page, map upload",
         "refused before unpacking: config.json may be at most 1 MB",
         {"zip": {"config_pad": 2_000_000}, "says": ["config.json", "1 MB"]}),
    Case("a map .zip declaring 100000 input dimensions", "app Train page, map upload",
         "refused: at most 16384 dimensions", {"zip": {"dims": (100_000, 8)}, "says": ["16384"]}),
]


@pytest.mark.parametrize("case", params(MAP_CASES))
def test_map_upload_checks_sizes_before_reading(case, tmp_path):
    at = app("pages/3_Train.py")
    archive = map_zip(tmp_path, **case.data["zip"])
    at.file_uploader(key="map_upload").upload("map.zip", archive, "application/zip").run()
    assert not at.exception
    assert at.error, "the archive must be refused"
    assert all(text in shown(at.error[0]) for text in case.data["says"]), shown(at.error[0])


# --- upload names are shown as plain text, never as Markdown -------------------------------------------------

PLAIN = "the error shows the name as plain text (no link)"
NAME_CASES = [
    Case(f"an empty upload named `{LINK_NAME}.csv`", "app Data page, upload", PLAIN,
         {"script": "pages/1_Data.py", "kind": "empty"}),
    Case(f"a corpus upload named `{LINK_NAME}.csv`", "app Data page, upload",
         "the success message, caption and sidebar show the name as plain text (no link)",
         {"script": "pages/1_Data.py", "kind": "table"}),
    Case(f"a corpus upload with a column named `{LINK_NAME}` and no text column", "app Data page, upload",
         "the error lists the columns as plain text (no link)", {"script": "pages/1_Data.py", "kind": "columns"}),
    Case(f"a broken map upload named `{LINK_NAME}.zip`", "app Train page, map upload", PLAIN,
         {"script": "pages/3_Train.py", "kind": "map"}),
]


def linked(text: str) -> bool:
    """A link Markdown would draw for the crafted name: ``[click](...)`` or a bare autolinked URL."""
    return "[click](" in text or "http://example.com" in text


@pytest.mark.parametrize("case", params(NAME_CASES))
def test_upload_names_are_plain_text(case, tmp_path, monkeypatch):
    from ui import state

    monkeypatch.setattr(state, "UPLOAD_DIR", tmp_path / "uploads")
    at = app(case.data["script"])
    kind = case.data["kind"]
    if kind == "map":
        at.file_uploader(key="map_upload").upload(f"{LINK_NAME}.zip", b"not a zip", "application/zip").run()
    else:
        at.radio(key="w:source").set_value("Upload a file").run()
        body = b"" if kind == "empty" else table(tmp_path, "t.csv").read_bytes()
        if kind == "columns":
            body = f"body,{LINK_NAME}\nsome text,a\nmore text,b\n".encode()
        name = "columns.csv" if kind == "columns" else f"{LINK_NAME}.csv"
        at.file_uploader(key="w:upload").upload(name, body, "text/csv").run()
    assert not at.exception
    shown = at.success if kind == "table" else at.error
    assert shown and "click" in shown[0].value
    assert not [text for text in rendered(at) if linked(text)]


# --- uploads are kept under a size cap ------------------------------------------------------------------------

UPLOAD_CAP_CASES = [
    Case("three 6 KB uploads with INSTRUCTLIN_UPLOAD_CAP_MB=0.012 (12 KB)", "app Data page, upload",
         "the oldest uploads are removed so the folder stays under the cap; the newest is kept",
         {"cap_mb": "0.012", "n": 3, "kb": 6}),
]


@pytest.mark.parametrize("case", params(UPLOAD_CAP_CASES))
def test_uploads_stay_under_the_cap(case, tmp_path, monkeypatch):
    from ui import state

    folder = tmp_path / "uploads"
    monkeypatch.setattr(state, "UPLOAD_DIR", folder)
    monkeypatch.setenv("INSTRUCTLIN_UPLOAD_CAP_MB", case.data["cap_mb"])
    at = app("pages/1_Data.py")
    at.radio(key="w:source").set_value("Upload a file").run()
    for i in range(case.data["n"]):
        pad = "x" * (case.data["kb"] * 1024 // 12)
        rows = "\n".join(f"upload {i} text {j} {pad},{'ab'[j % 2]}" for j in range(12))
        at.file_uploader(key="w:upload").set_value((f"u{i}.csv", f"text,cluster\n{rows}\n".encode(), "text/csv"))
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    kept = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert sum(p.stat().st_size for p in kept) <= float(case.data["cap_mb"]) * 2**20
    assert Path(at.session_state["data"]) in kept  # the file just written survives
