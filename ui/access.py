"""What a visitor of the served app may make the server read: local folders, encoders, stored data specs.

Pure policy (no Streamlit), read from the operator's environment on every call:
``INSTRUCTLIN_DATA_ROOTS`` and ``INSTRUCTLIN_ENCODER_ROOTS`` list folders (``os.pathsep``-separated);
``INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS=1`` lets visitors name Hugging Face hub models.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from instructlin.sources.datasets import NYT_ASPECTS, SUPPORTED_SUFFIXES
from instructlin.sources.encoders import EncoderName

DATA_ROOTS = "INSTRUCTLIN_DATA_ROOTS"
ENCODER_ROOTS = "INSTRUCTLIN_ENCODER_ROOTS"
CUSTOM_ENCODERS = "INSTRUCTLIN_ALLOW_CUSTOM_ENCODERS"
#: At most this many tables are offered from one folder, and at most this many entries are looked at.
MAX_LISTED_FILES = 300
MAX_WALKED_ENTRIES = 20_000
NAMED_ENCODERS = tuple(e.value for e in EncoderName)
#: Names the upload store gives files: a content hash and a table suffix.
UPLOAD_NAME = re.compile(r"[0-9a-f]{20}\.(csv|parquet|jsonl|json)")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?")

DATA_ROOTS_HELP = (
    "Local folders are off on this server: visitors cannot browse its disk. The person who runs the app "
    f"enables them by listing the folders visitors may read in `{DATA_ROOTS}` (separated by `{os.pathsep}`), "
    f"e.g. `{DATA_ROOTS}=../shared/datasets streamlit run app.py`. Until then, pick the demo corpus, "
    "NYTClustering or upload a file."
)
ENCODER_HELP = (
    f"Only the named encoders ({', '.join(NAMED_ENCODERS)}) can be used on this server. The person who runs "
    f"the app allows Hugging Face hub model ids with `{CUSTOM_ENCODERS}=1`, and local sentence-transformers "
    f"folders by listing the folders that hold them in `{ENCODER_ROOTS}`."
)


class OutsideRootsError(ValueError):
    """A path that resolves outside every allowed folder; the message names the allowed folders."""


def roots(variable: str, environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The existing folders an ``os.pathsep``-separated variable lists, links and ``..`` resolved."""
    raw = (os.environ if environ is None else environ).get(variable, "")
    found: list[Path] = []
    for part in (p.strip() for p in raw.split(os.pathsep)):
        real = Path(os.path.realpath(Path(part).expanduser())) if part else None
        if real is not None and real.is_dir() and real not in found:
            found.append(real)
    return tuple(found)


def data_roots(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders visitors may pick tables from (none unless the operator sets ``INSTRUCTLIN_DATA_ROOTS``)."""
    return roots(DATA_ROOTS, environ)


def is_inside(real: Path, allowed: Sequence[Path]) -> bool:
    """Whether an already resolved path is one of ``allowed`` or lies below one."""
    return any(real == root or real.is_relative_to(root) for root in allowed)


def resolve_inside(path: str | Path, allowed: Sequence[Path]) -> Path:
    """The real path of ``path`` (a relative one is taken inside the first root), if it stays in a root."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute() and allowed:
        candidate = allowed[0] / candidate
    real = Path(os.path.realpath(candidate))
    if not allowed or not is_inside(real, allowed):
        names = ", ".join(str(r) for r in allowed) or "none"
        raise OutsideRootsError(f"{path} is outside the folders this server lets visitors read ({names}). "
                                "Name a folder inside one of them.")
    return real


@dataclass(frozen=True)
class Listing:
    """Table files found under a folder; ``truncated`` when the walk stopped at a bound."""

    files: tuple[Path, ...]
    truncated: bool


def list_tables(folder: Path, *, limit: int = MAX_LISTED_FILES, max_entries: int = MAX_WALKED_ENTRIES) -> Listing:
    """Tables under ``folder`` (sorted walk, symlinked folders not followed, links out of it skipped), bounded."""
    folder = Path(os.path.realpath(folder))
    files: list[Path] = []
    seen = 0
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        seen += len(dirs) + len(names)
        for name in sorted(names):
            path = Path(top) / name
            if path.suffix.lower() in SUPPORTED_SUFFIXES and is_inside(Path(os.path.realpath(path)), [folder]):
                files.append(path)
                if len(files) >= limit:
                    return Listing(tuple(files), truncated=True)
        if seen >= max_entries:
            return Listing(tuple(files), truncated=True)
    return Listing(tuple(files), truncated=False)


def data_spec_allowed(spec: str, upload_dir: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a data spec (from a session or the address bar) names something visitors may load."""
    if spec == "demo" or (spec.startswith("nyt:") and spec[4:] in NYT_ASPECTS):
        return True
    real = Path(os.path.realpath(spec))
    if real.parent == Path(os.path.realpath(upload_dir)) and UPLOAD_NAME.fullmatch(real.name):
        return True
    return real.suffix.lower() in SUPPORTED_SUFFIXES and is_inside(real, data_roots(environ))


def custom_encoders_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the operator lets visitors name any model beyond the named encoders (hub ids or folders)."""
    env = os.environ if environ is None else environ
    return env.get(CUSTOM_ENCODERS, "").strip() == "1" or bool(roots(ENCODER_ROOTS, env))


def encoder_refusal(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why this server will not load encoder ``name``, or None when it may (the named ones always may)."""
    if name in NAMED_ENCODERS:
        return None
    env = os.environ if environ is None else environ
    path = Path(name).expanduser()
    if path.is_absolute() or name.startswith((".", "~")) or "\\" in name or path.is_dir():  # a local folder
        if path.is_dir() and is_inside(Path(os.path.realpath(path)), roots(ENCODER_ROOTS, env)):
            return None
        return ENCODER_HELP
    if env.get(CUSTOM_ENCODERS, "").strip() == "1" and HUB_ID.fullmatch(name) and ".." not in name:
        return None
    return ENCODER_HELP
