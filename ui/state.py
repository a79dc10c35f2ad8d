"""The choices every page shares, kept per browser session in ``st.session_state``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from instructlin.cli.options import DEVICE_CHOICES, METHOD_CHOICES
from instructlin.cli.options import MAX_UPLOAD_BYTES as LIBRARY_UPLOAD_LIMIT
from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig
from ui import access, uploads
from ui.pack_source import EMBEDDINGS_FROM, PACK_INSTRUCTIONS, pack_folder, pack_present
from ui.text import code, plain

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_DIR = Path(tempfile.gettempdir()) / "instructlin-uploads"
MAX_UPLOAD_BYTES = LIBRARY_UPLOAD_LIMIT  # a name here so tests can lower it

DEFAULTS: dict[str, Any] = {
    "embeddings": "pack",  # a fresh visitor sees a teacher that follows instructions, also offline
    "pack_instructions": {},  # aspect -> one of the pack's instructions for that labelling
    "data": "demo",
    "text_column": "text",
    "label_columns": None,  # tuple of names, or None for the loader's default
    "n_per_class": 0,  # 0 keeps every row
    "drop_empty": False,
    "seed": 42,
    "encoder": "auto",
    "device": "auto",
    "instructions": {},  # aspect -> instruction text
    "train_size": 0.2,
    "method": "auto",
    "vector_method": "auto",  # the "Your vectors" page's map method (no SGD there)
    "epochs": 300,
    "learning_rate": 1e-3,
    "patience": 100,  # SGD: epochs without a better validation loss before it stops (the library's default is 20)
    "sgd_pace_ms": 25,  # SGD in the app: a pause after each epoch, so the live curves can be watched
    "timing_max_texts": 64,
    "timing_repeats": 3,
}
#: Choices that may come from the address bar, e.g. ``?encoder=minilm&n_per_class=4``.
QUERY_KEYS = {"embeddings": str, "encoder": str, "device": str, "n_per_class": int, "seed": int, "method": str}
#: The library's choices for those that have a fixed set: another value falls back to the default.
QUERY_CHOICES = {"embeddings": EMBEDDINGS_FROM, "device": DEVICE_CHOICES, "method": METHOD_CHOICES}
#: The widgets' ranges for the numbers: another value falls back to the default.
QUERY_RANGES = {"n_per_class": (0, 100_000), "seed": (0, 2**31 - 1)}

PRESETS = (
    "Identify the topic of the given news article",
    "Identify the location where the given news article happened",
    "What is the topic of news?",
    "Where did the news happen?",
)


def init() -> None:
    """Fill missing choices with defaults (or the address bar's values), then refuse what the server forbids."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            raw = st.query_params.get(key)
            if raw is None or key not in QUERY_KEYS:
                st.session_state[key] = dict(value) if isinstance(value, dict) else value
                continue
            refusal = _query_refusal(key, raw)
            st.session_state[key] = value if refusal else QUERY_KEYS[key](raw)
            if refusal:
                st.warning(f"The address bar's {code(key + '=' + raw)} was ignored ({refusal}); the default "
                           f"{code(value)} is used.", icon=":material/block:")
    if st.session_state["embeddings"] == "pack" and not pack_present():
        st.session_state["embeddings"] = "encoder"  # a checkout without the pack has only the live path
    _enforce_access()


def on_pack() -> bool:
    """Whether this session's pages read the teacher pack (True) or run a live encoder (False)."""
    return get("embeddings") == "pack"


def _query_refusal(key: str, raw: str) -> str | None:
    """Why the address bar's value for ``key`` cannot be used (None: it can)."""
    try:
        chosen = QUERY_KEYS[key](raw)
    except ValueError:
        return "not a whole number"  # only the numbers can fail to convert
    if key in QUERY_CHOICES and chosen not in QUERY_CHOICES[key]:
        return f"one of {', '.join(QUERY_CHOICES[key])}"
    if key in QUERY_RANGES and not QUERY_RANGES[key][0] <= chosen <= QUERY_RANGES[key][1]:
        return f"outside {QUERY_RANGES[key][0]:,} to {QUERY_RANGES[key][1]:,}"
    if key == "device" and chosen not in ("auto", "cpu") and not _device_present(chosen):
        return f"this server has no {chosen}"
    return None


def _device_present(device: str) -> bool:
    from instructlin.core.devices import resolve_device
    from instructlin.errors import EncoderUnavailableError

    try:
        resolve_device(device)
    except (EncoderUnavailableError, ImportError):
        return False
    return True


def _enforce_access() -> None:
    """A data spec or encoder this server does not allow (address bar, old session) falls back, visibly."""
    encoder = str(st.session_state["encoder"])
    refusal = access.encoder_refusal(encoder)
    if refusal is not None:
        st.session_state["encoder"] = DEFAULTS["encoder"]
        st.session_state.pop("w:encoder_choice", None)
        st.warning(f"The encoder {code(encoder)} was refused, so the default encoder "
                   f"`{DEFAULTS['encoder']}` is used. {refusal}", icon=":material/block:")
    spec = str(st.session_state["data"])
    if not access.data_spec_allowed(spec, UPLOAD_DIR):
        for key in ("data", "text_column", "label_columns", "drop_empty"):
            st.session_state[key] = DEFAULTS[key]
        st.warning(f"The data choice {code(spec)} was refused: it is not the demo corpus, NYTClustering, an "
                   "upload, or a table under the folders this server allows. The demo corpus is used.",
                   icon=":material/block:")


def get(key: str) -> Any:
    init()
    return st.session_state[key]


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def widget(fn: Callable[..., Any], label: str, name: str, **kwargs: Any) -> Any:
    """A widget bound to the shared choice ``name``; it survives page switches and runs that skip it.

    ``name`` is the one store: an edit is copied into it by ``on_change`` (before the script reruns),
    and the widget is given the stored value on every run. Seeding the key only when it is missing
    let a widget that one run did not draw (a page that stopped early) come back at its element
    default in the browser (the seed box showed 0, not 42) and then overwrite the choice with it.
    """
    key = f"w:{name}"
    st.session_state[key] = get(name)
    value = fn(label, key=key, on_change=_copy_widget, args=(key, name), **kwargs)
    st.session_state[name] = value
    return value


def _copy_widget(key: str, name: str) -> None:
    """The user changed the widget ``key``: keep its value as the shared choice ``name``."""
    st.session_state[name] = st.session_state[key]


def default_instruction(aspect: str) -> str:
    return DEFAULT_INSTRUCTIONS.get(aspect, f"Identify the {aspect} of the given text")


def instructions_for(aspects: list[str]) -> tuple[tuple[str, str], ...]:
    """The chosen instruction of each aspect: the pack's own on the pack (kept apart from the live ones,
    which may be free text the pack has no embeddings for)."""
    if on_pack():
        chosen = get("pack_instructions")
        return tuple((a, chosen.get(a) or PACK_INSTRUCTIONS.get(a) or default_instruction(a)) for a in aspects)
    chosen = get("instructions")
    return tuple((a, chosen.get(a) or default_instruction(a)) for a in aspects)


def config(aspects: list[str] | None = None, **overrides: Any) -> ExperimentConfig:
    """The current :class:`ExperimentConfig` from this session's choices (``aspects`` fixes instructions)."""
    labels = get("label_columns")
    params: tuple[tuple[str, Any], ...] = ()
    if get("method") == "sgd":
        params = (("epochs", int(get("epochs"))), ("learning_rate", float(get("learning_rate"))),
                  ("patience", int(get("patience"))))
    cfg = ExperimentConfig(
        data=get("data"),
        text_column=get("text_column"),
        label_columns=tuple(labels) if labels else None,
        instructions=instructions_for(aspects) if aspects else (),
        encoder=get("encoder"),
        device=get("device"),
        train_size=float(get("train_size")),
        seed=int(get("seed")),
        method=get("method"),
        map_params=params,
        n_per_class=int(get("n_per_class")) or None,
        drop_empty=bool(get("drop_empty")),
        measure_timing=False,
        timing_max_texts=int(get("timing_max_texts")),
        timing_repeats=int(get("timing_repeats")),
    )
    if on_pack():  # the pack is tied to the demo corpus, every row in file order: no other data, no sample
        cfg = ExperimentConfig(**{**cfg.__dict__, "data": "demo", "text_column": "text", "label_columns": None,
                                  "n_per_class": None, "drop_empty": False, "pack": pack_folder()})
    return ExperimentConfig(**{**cfg.__dict__, **overrides})


def save_upload(name: str, content: bytes) -> Path:
    """Store an upload under its content hash (a cache key naming the bytes), the store kept under its cap.

    The name the user gave the file is remembered for this session: labels and errors show it, never the hash.
    """
    path = uploads.store(UPLOAD_DIR, name, content, uploads.cap_bytes())
    st.session_state.setdefault("upload_names", {})[str(path)] = str(name)
    return path


def is_upload(spec: str | Path) -> bool:
    """Whether a data spec names a file of the upload store."""
    return Path(spec).parent == UPLOAD_DIR


def upload_name(path: str | Path) -> str:
    """The name the user uploaded a stored file as (its stored name when this session did not upload it)."""
    return st.session_state.get("upload_names", {}).get(str(path), Path(path).name)


def user_names(text: object) -> str:
    """``text`` with every stored upload's path and hashed file name replaced by the user's own file name."""
    text = str(text)
    for stored, name in st.session_state.get("upload_names", {}).items():
        text = text.replace(stored, name).replace(Path(stored).name, name)
    return text


def dataset_label(spec: str) -> str:
    """A short name for a data spec, safe inside Markdown (uploads are stored under a hash)."""
    if spec == "demo":
        return "demo corpus (data/news_demo.csv)"
    if is_upload(spec):
        return f"uploaded file {plain(upload_name(spec))}"
    return plain(spec)


def choose(**choices: Any) -> None:
    """Store new shared choices (e.g. the data) and rerun if any changed, so the header drawn above is current."""
    if any(get(key) != value for key, value in choices.items()):
        for key, value in choices.items():
            put(key, value)
        st.rerun()
