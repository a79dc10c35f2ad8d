"""Upload regressions: map archives checked before unpacking, names shown as plain text, a capped store."""

from __future__ import annotations

import io
import json
import re
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
    from instructlin.core.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap

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
    at = app("app_pages/3_Train.py")
    archive = map_zip(tmp_path, **case.data["zip"])
    at.file_uploader(key="map_upload").upload("map.zip", archive, "application/zip").run()
    assert not at.exception
    assert at.error, "the archive must be refused"
    assert all(text in shown(at.error[0]) for text in case.data["says"]), shown(at.error[0])


# --- upload names are shown as plain text, never as Markdown -------------------------------------------------

PLAIN = "the error shows the name as plain text (no link)"
NAME_CASES = [
    Case(f"an empty upload named `{LINK_NAME}.csv`", "app Data page, upload", PLAIN,
         {"script": "app_pages/1_Data.py", "kind": "empty"}),
    Case(f"a corpus upload named `{LINK_NAME}.csv`", "app Data page, upload",
         "the success message, caption and sidebar show the name as plain text (no link)",
         {"script": "app_pages/1_Data.py", "kind": "table"}),
    Case(f"a corpus upload with a column named `{LINK_NAME}` and no text column", "app Data page, upload",
         "no text column is guessed: the warning that asks for one lists the columns as plain text (no link)",
         {"script": "app_pages/1_Data.py", "kind": "columns"}),
    Case(f"a broken map upload named `{LINK_NAME}.zip`", "app Train page, map upload", PLAIN,
         {"script": "app_pages/3_Train.py", "kind": "map"}),
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
    shown = {"table": at.success, "columns": at.warning}.get(kind, at.error)
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
    at = app("app_pages/1_Data.py")
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


# --- the three bad uploads of issue 10: a guessed text column, a hashed name, stale seed and label ---------

HASHED = re.compile(r"[0-9a-f]{20}")
TOPICS = ("sports", "business", "science")
#: A table with two label columns and no text: `topic` (6 to 8 characters, 3 values) must not be taken as text.
NO_TEXT = "topic,location\n" + "".join(f"{TOPICS[i % 3]},{('paris', 'tokyo')[i % 2]}\n" for i in range(30))


def corpus(tag: str, rows: int = 16) -> bytes:
    return ("text,cluster\n" + "".join(f"{tag} text number {i} about {'ab'[i % 2]} things,{'ab'[i % 2]}\n"
                                       for i in range(rows))).encode()


def upload(at, name: str, body: bytes):
    at.file_uploader(key="w:upload").set_value((name, body, "text/csv"))
    return at.run()


def header(at) -> str:
    """The page's caption and the sidebar's summary: where every page says which data is in use."""
    return " ".join(shown(e) for e in [*at.caption, *at.sidebar.markdown])


@pytest.fixture
def data_page(tmp_path, monkeypatch):
    from ui import state

    monkeypatch.setattr(state, "UPLOAD_DIR", tmp_path / "uploads")
    at = app("app_pages/1_Data.py", n_per_class=0)
    return at.radio(key="w:source").set_value("Upload a file").run()


DATA_UPLOAD = "app Data page, upload"
UPLOAD_STATE_CASES = [
    Case("a CSV with only label columns (`topic`: 6 to 8 characters, 3 values) and no text column", DATA_UPLOAD,
         "no text column is guessed: a warning asks for one and says why; the data in use stays until one is picked",
         {"test": "guess"}),
    Case("an upload the loader refuses (one class), or that is not UTF-8", DATA_UPLOAD,
         "the error names the user's file, never the store's hashed name; the data in use stays", {"test": "name"}),
    Case("two uploads one after the other, then a refused one", DATA_UPLOAD,
         "the seed stays 42 and every page's header names the file in use", {"test": "state"}),
]


@pytest.mark.parametrize("case", params(UPLOAD_STATE_CASES[:1]))
def test_no_text_column_is_guessed_from_short_labels(case, data_page):
    at = upload(data_page, "labels only.csv", NO_TEXT.encode())
    assert not at.exception and not at.success, "a table without a text column must not be accepted as is"
    box = at.sidebar.selectbox[0]
    assert box.label == "Text column" and box.value is None and box.options == ["topic", "location"]
    says = shown(at.warning[0])
    assert "Which column holds the texts?" in says and "in topic, have 6 to 8 characters" in says
    assert "labels only.csv" in says
    assert at.session_state["data"] == "demo", "nothing is used until the user picks the text column"
    box.set_value("topic").run()  # the user's own choice is honoured, however short its values
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "30 texts" in at.success[0].value and at.session_state["text_column"] == "topic"


@pytest.mark.parametrize("case", params(UPLOAD_STATE_CASES[1:2]))
def test_upload_errors_name_the_users_file_not_the_stored_hash(case, data_page):
    at = upload(data_page, "mine.csv", b"text,label\nfirst text here,x\nsecond text here,x\n")
    assert not at.exception
    message = shown(at.error[0])
    assert "mine.csv" in message and "one class only" in message
    assert not HASHED.search(message), message
    at = upload(at, "latin.csv", "text,label\ncaf\xe9 au lait,a\nth\xe9 vert,b\n".encode("latin-1"))
    message = shown(at.error[0])
    assert "latin.csv" in message and "UTF-8" in message and not HASHED.search(message), message


@pytest.mark.parametrize("case", params(UPLOAD_STATE_CASES[2:]))
def test_seed_and_data_label_follow_each_upload(case, data_page):
    at = upload(data_page, "first.csv", corpus("first"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "first.csv" in header(at) and at.session_state["seed"] == 42
    at = upload(at, "second.csv", corpus("second"))
    assert "second.csv" in header(at) and "first.csv" not in header(at), header(at)
    assert "second.csv" in shown(at.success[0]) and at.number_input(key="w:seed").value == 42
    at = upload(at, "broken.csv", b"text,label\nonly one class,x\nstill one,x\n")  # refused: second stays in use
    assert "broken.csv" in shown(at.error[0])
    assert "second.csv" in header(at) and at.session_state["seed"] == 42
    kept = {k: at.session_state[k] for k in ("data", "text_column", "label_columns", "upload_names", "seed")}
    train = app("app_pages/3_Train.py", **kept)  # the Train page of the same session
    assert not train.exception
    assert "second.csv" in header(train) and train.number_input(key="w:seed").value == 42
    back = app("app_pages/1_Data.py", **kept)  # back on Data: the upload in use is shown, nothing asked again
    assert not back.exception and not back.warning and not back.error
    assert "second.csv" in shown(back.success[0]) and back.session_state["text_column"] == "text"


# --- bring your own vectors: the "Your vectors" page fits, scores and exports with no encoder ---------------

PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"


def parquet(ids, vectors: np.ndarray) -> bytes:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    buffer = io.BytesIO()
    column = pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(vectors, dtype=np.float32).reshape(-1)),
                                               vectors.shape[1])
    pq.write_table(pa.table({"id": pa.array(list(ids)), "vector": column}), buffer)
    return buffer.getvalue()


@pytest.fixture
def byo(tmp_path, monkeypatch):
    """The shipped pack as a user's files: base in file order, instructed and labels shuffled, by id."""
    from ui import state

    if not (PACK / "base.npy").is_file():
        pytest.skip("the teacher pack data/teacher is not in this checkout")
    monkeypatch.setattr(state, "UPLOAD_DIR", tmp_path / "uploads")
    base, location = np.load(PACK / "base.npy"), np.load(PACK / "location.npy")
    from instructlin.sources.datasets import load_demo

    labels = load_demo().labels["location"]
    ids = np.array([f"doc-{i:03d}" for i in range(len(base))])
    order = np.random.default_rng(5).permutation(len(base))
    files = {"base": ("my base.parquet", parquet(ids, base)),
             "instructed": ("my location.parquet", parquet(ids[order], location[order])),
             "labels": ("my labels.csv", ("id,place\n" + "".join(f"{ids[i]},{labels[i]}\n" for i in order)).encode())}
    return {"files": files, "base": base, "location": location, "labels": labels, "ids": ids, "order": order,
            "folder": tmp_path}


def put(at, key: str, name: str, body: bytes):
    at.file_uploader(key=key).set_value((name, body, "application/octet-stream"))


def test_your_vectors_fit_score_and_export_without_an_encoder(byo, monkeypatch):
    from instructlin.pipeline import stages
    from instructlin.sources import encoders
    from instructlin.vectors.runs import VectorSpec, run_vectors

    def no_encoder(*args, **kwargs):
        raise AssertionError("the Your vectors page must not load an encoder")

    monkeypatch.setattr(encoders, "load_encoder", no_encoder)
    monkeypatch.setattr(stages, "open_encoder", no_encoder)
    at = app("app_pages/6_Vectors.py")
    assert not at.exception and "Upload the base" in at.info[0].value
    for key, (name, body) in byo["files"].items():
        put(at, f"v:{key}", name, body)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "288 rows × 768" in at.success[0].value and "matched by id" in at.success[0].value
    folder = byo["folder"]  # the same files, run by the library: the page must show its numbers
    for name, body in byo["files"].values():
        (folder / name).write_bytes(body)
    run = run_vectors(VectorSpec(str(folder / "my base.parquet"), str(folder / "my location.parquet"),
                                 str(folder / "my labels.csv")))
    shown_metrics = {m.label: m.value for m in at.metric}
    assert shown_metrics["V-measure instructed"] == f"{run.scores.instructed.mean:.3f}"
    assert shown_metrics["V-measure mapped"] == f"{run.scores.mapped.mean:.3f}"
    assert shown_metrics["V-measure base"] == f"{run.scores.base.mean:.3f}"
    assert shown_metrics["Retention"] == f"{run.scores.retention:.1%}"
    assert shown_metrics["Cosine to the teacher"] == f"{run.stand_in.cosine_mapped:.3f}"
    assert shown_metrics["Teacher share, mixed index"] == f"{run.stand_in.mixed_share:.2f}"
    assert len(run.test) == 230 and any("scored on the other 230" in c.value for c in at.caption)
    assert run.scores.mapped.mean > run.scores.base.mean + 0.25  # the location effect, carried by the map
    assert len(at.get("download_button")) == 3


def test_your_vectors_with_some_rows_instructed_maps_the_rest(byo):
    at = app("app_pages/6_Vectors.py")
    name, body = byo["files"]["base"]
    put(at, "v:base", name, body)
    rows = byo["order"][:72]
    put(at, "v:instructed", "some.parquet", parquet(byo["ids"][rows], byo["location"][rows]))
    put(at, "v:labels", *byo["files"]["labels"])
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Only 72 of 288 rows" in at.info[0].value
    shown_metrics = {m.label: float(m.value) for m in at.metric}
    assert shown_metrics["V-measure mapped (same rows)"] > shown_metrics["V-measure base (rows without instructed)"]


def test_your_vectors_bad_upload_names_the_users_file(byo):
    at = app("app_pages/6_Vectors.py")
    put(at, "v:base", *byo["files"]["base"])
    half = io.BytesIO()
    np.save(half, byo["location"][:, :384])
    put(at, "v:instructed", "small model.npy", half.getvalue())
    at.run()
    assert not at.exception
    message = shown(at.error[0])
    assert "small model.npy has 384 dimensions but my base.parquet has 768" in message, message
    assert not HASHED.search(message) and "\n" not in message


def test_the_shipped_example_says_when_the_teacher_does_not_follow(monkeypatch):
    """EmbeddingGemma makes topic clustering worse on the demo corpus: the page says so, on the pack's numbers."""
    if not (PACK / "topic.npy").is_file():
        pytest.skip("the teacher pack data/teacher is not in this checkout")
    at = app("app_pages/6_Vectors.py")
    at.radio(key="v:source").set_value(at.radio(key="v:source").options[1]).run()
    at.selectbox(key="v:example").set_value("topic.npy").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    values = {m.label: m.value for m in at.metric}
    assert float(values["V-measure instructed"]) < float(values["V-measure base"]) - 0.1, values
    assert any("did not follow the instruction" in i.value for i in at.info)
    assert "EmbeddingGemma-300m" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(("example", "labelling"), [("country.npy", "location"), ("sentiment.npy", None)])
def test_shipped_examples_are_scored_against_the_labelling_their_manifest_names(example, labelling):
    """Not the file name: 'country' is a location question; the demo has no sentiment labels at all."""
    at = app("app_pages/6_Vectors.py")
    at.radio(key="v:source").set_value(at.radio(key="v:source").options[1]).run()
    at.selectbox(key="v:example").set_value(example).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = " ".join(shown(c) for c in at.caption)
    metrics = {m.label for m in at.metric}
    assert "Cosine to the teacher" in metrics
    if labelling:
        assert f"the `{labelling}` column" in captions and "V-measure mapped" in metrics, captions
    else:
        assert "no labels" in captions and "V-measure mapped" not in metrics, captions
