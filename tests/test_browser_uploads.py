"""Uploads in real headless Chromium: bring your own vectors, and the three bad uploads of issue 10.

Shares the session's server and browser with tests/test_browser.py (conftest.py; skipped the same way
without Chromium or playwright). Screenshots go to ``screenshots/`` or ``$INSTRUCTLIN_SCREENSHOTS`` as ``upload-*.png``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from tests.test_browser import QUERY, idle, screenshot, shots

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"
VECTORS_PATH = "Vectors"  # app_pages/6_Vectors.py
HASHED = re.compile(r"[0-9a-f]{20}")
TOPICS = ("sports", "business", "science")


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    idle(page)


def upload(page, body: bytes, name: str, *, index: int = 0, mime: str = "text/csv") -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').nth(index)
    uploader.locator('input[type="file"]').set_input_files({"name": name, "mimeType": mime, "buffer": body})
    uploader.get_by_text(name).wait_for(timeout=60_000)
    idle(page)


def no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def seed(page) -> str:
    return page.get_by_label("Seed").input_value()


def title_caption(page):
    """The caption under the page's title, which names the data in use."""
    return page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first


def header(page) -> str:
    """Which data every page says is in use: the caption under the title and the sidebar summary."""
    return title_caption(page).inner_text() + " " + page.locator('[data-testid="stSidebar"]').inner_text()


def header_names(page, name: str) -> str:
    """The header once its caption names ``name``: on a loaded machine the upload's rerun can start after
    :func:`idle` has seen the page settle, so the test waits for the new name (60 s) before reading."""
    try:
        title_caption(page).filter(has_text=name).wait_for(timeout=60_000)
    except PlaywrightTimeout:  # the assertion that follows says what the page showed instead
        pass
    idle(page)
    return header(page)


def corpus(tag: str, rows: int = 16) -> bytes:
    return ("text,cluster\n" + "".join(f"{tag} text number {i} about {'ab'[i % 2]} things,{'ab'[i % 2]}\n"
                                       for i in range(rows))).encode()


@pytest.fixture
def data_upload(server, browser_page):
    """The Data page of a fresh session, switched to the upload source; the seed box shows 42 before."""
    page = browser_page
    open_page(page, f"{server}/Data{QUERY}")
    page.get_by_text("Label distributions").wait_for(timeout=180_000)  # the demo corpus is shown
    idle(page)
    assert seed(page) == "42"
    page.get_by_test_id("stRadioGroup").get_by_text("Upload a file").click()
    idle(page)
    return page


def test_seed_and_data_label_stay_right_across_uploads(data_upload):
    page = data_upload
    upload(page, corpus("first"), "first corpus.csv")
    no_exception(page)
    assert "first corpus.csv" in header_names(page, "first corpus.csv")
    assert seed(page) == "42", "the seed box must not fall back to 0 after an upload"
    upload(page, corpus("second"), "second corpus.csv")
    shown = header_names(page, "second corpus.csv")
    assert seed(page) == "42"
    assert "second corpus.csv" in shown and "first corpus.csv" not in shown, shown
    screenshot(page, shots() / "upload-second-file.png")
    page.get_by_role("link", name="Train").first.click()  # another page of the same session
    idle(page)
    no_exception(page)
    assert seed(page) == "42" and "second corpus.csv" in header(page)


def test_no_text_column_is_asked_for_not_guessed(data_upload):
    page = data_upload
    body = "topic,location\n" + "".join(f"{TOPICS[i % 3]},{('paris', 'tokyo')[i % 2]}\n" for i in range(30))
    upload(page, body.encode(), "labels only.csv")
    no_exception(page)
    warning = page.locator('[data-testid="stAlertContentWarning"]')
    assert warning.count() == 1 and "Which column holds the texts?" in warning.inner_text()
    assert "topic" in warning.inner_text() and "6 to 8 characters" in warning.inner_text()
    assert page.locator('[data-testid="stAlertContentSuccess"]').count() == 0
    screenshot(page, shots() / "upload-no-text-column.png")


def test_upload_error_names_the_users_file(data_upload):
    page = data_upload
    upload(page, b"text,label\nfirst text here,x\nsecond text here,x\n", "my corpus.csv")
    no_exception(page)
    error = page.locator('[data-testid="stAlertContentError"]')
    assert error.count() == 1
    text = error.inner_text()
    assert "my corpus.csv" in text and "one class only" in text and not HASHED.search(text), text
    screenshot(page, shots() / "upload-error-names-file.png")


def parquet(ids, vectors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.astype(np.float32).reshape(-1)), vectors.shape[1])
    pq.write_table(pa.table({"id": pa.array(list(ids)), "vector": column}), buffer)
    return buffer.getvalue()


def test_bring_your_own_vectors(server, browser_page, tmp_path):
    """The shipped pack as a user's files (shuffled, matched by id): the page shows the library's numbers."""
    from instructlin.sources.datasets import load_demo
    from instructlin.vectors.runs import VectorSpec, run_vectors

    if not (PACK / "base.npy").is_file():
        pytest.skip("the teacher pack data/teacher is not in this checkout")
    base, location = np.load(PACK / "base.npy"), np.load(PACK / "location.npy")
    labels = load_demo().labels["location"]
    ids = np.array([f"doc-{i:03d}" for i in range(len(base))])
    order = np.random.default_rng(5).permutation(len(base))
    files = [("my base.parquet", parquet(ids, base)), ("my location.parquet", parquet(ids[order], location[order])),
             ("my labels.csv", ("id,place\n" + "".join(f"{ids[i]},{labels[i]}\n" for i in order)).encode())]
    page = browser_page
    open_page(page, f"{server}/{VECTORS_PATH}")
    page.get_by_text("Upload the base and the instructed embeddings").wait_for(timeout=60_000)
    for index, (name, body) in enumerate(files):
        upload(page, body, name, index=index, mime="application/octet-stream")
        (tmp_path / name).write_bytes(body)
    page.get_by_text("V-measure instructed").first.wait_for(timeout=180_000)
    idle(page, 1500)
    no_exception(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    shown = {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
             m.locator('[data-testid="stMetricValue"]').inner_text().strip()
             for m in page.locator('[data-testid="stMetric"]').all()}
    run = run_vectors(VectorSpec(*(str(tmp_path / name) for name, _ in files)))
    assert shown["V-measure instructed"] == f"{run.scores.instructed.mean:.3f}", shown
    assert shown["V-measure mapped"] == f"{run.scores.mapped.mean:.3f}", shown
    assert shown["Cosine to the teacher"] == f"{run.stand_in.cosine_mapped:.3f}", shown
    assert page.get_by_text(f"scored on the other {len(run.test):,}").count() >= 1
    assert page.get_by_role("button", name=re.compile("Mapped vectors with ids")).count() == 1
    screenshot(page, shots() / "upload-your-vectors.png")
