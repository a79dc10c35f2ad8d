"""Embedding packs: precomputed base and instructed embeddings of one corpus, read instead of encoding.

A pack is a folder with ``manifest.json`` and one ``.npy`` file per instruction (``null``: the base
embeddings). It stands in for a teacher that cannot run here (offline, no GPU, a licence that keeps its
weights out): the demo ships EmbeddingGemma-300m embeddings of the demo corpus in ``data/teacher``.
Every file is checked against the manifest (SHA-256, shape, dtype, finite values) and the manifest's
texts digest against the dataset's own texts, so a pack is never read as another corpus's embeddings.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instructlin.core.checks import check_finite
from instructlin.errors import JSON_ERRORS, PackError, json_problem
from instructlin.io.npy_files import decode_npy
from instructlin.sources.cache import texts_digest
from instructlin.timing import Timing, time_call

MANIFEST = "manifest.json"
#: The pack shipped in a checkout of the repository (not in the wheel): EmbeddingGemma-300m on the demo corpus.
DEMO_PACK_DIR = Path(__file__).resolve().parents[2] / "data" / "teacher"



@dataclass(frozen=True)
class PackFile:
    """One array of a pack as the manifest lists it."""

    file: str
    instruction: str | None
    shape: tuple[int, ...]
    dtype: str
    sha256: str
    labelling: str | None = None  # the label column the instruction is meant for, where the manifest names one


@dataclass(frozen=True)
class Pack:
    """A pack's manifest, read and checked; arrays are read (and verified) by :meth:`load`."""

    folder: Path
    model: str  # as the manifest says it, e.g. "google/embeddinggemma-300m (rebuilt with ...)"
    name: str  # short, for people: "EmbeddingGemma-300m"
    template: str
    max_seq_length: int | None
    device: str
    texts_sha256: str
    n_texts: int
    corpus: str
    files: tuple[PackFile, ...]
    manifest_sha256: str
    seconds_per_text: float | None = None  # the teacher's measured encode time, where the manifest records it
    timing_note: str = ""

    @property
    def model_id(self) -> str:
        """The model's id without the manifest's remarks (what a saved map records as its encoder)."""
        return self.model.split(" (")[0].strip()

    @property
    def revision(self) -> str:
        """The pack's own version: its manifest's SHA-256 (short)."""
        return f"pack-{self.manifest_sha256[:12]}"

    @property
    def dim(self) -> int:
        return int(self.files[0].shape[1])

    def describe(self) -> str:
        """One line for people: which teacher, precomputed, where, how big."""
        where = f"{self.folder.parent.name}/{self.folder.name}"
        return (f"{self.name}, precomputed ({where}: {self.n_texts} texts, d={self.dim}, "
                f"max {self.max_seq_length} tokens, {self.device})")

    def instructions(self) -> tuple[str, ...]:
        """The instructions the pack holds embeddings for, in manifest order (the base set excluded)."""
        return tuple(f.instruction for f in self.files if f.instruction is not None)

    def instructions_for(self, labelling: str) -> tuple[str, ...]:
        """The instructions the manifest marks as meant for ``labelling`` (a label column), in manifest order."""
        return tuple(f.instruction for f in self.files if f.instruction is not None and f.labelling == labelling)

    def file_for(self, instruction: str | None) -> PackFile:
        """The manifest entry of ``instruction`` (None: the base embeddings)."""
        for entry in self.files:
            if entry.instruction == instruction:
                return entry
        what = "base embeddings (instruction null)" if instruction is None else f"instruction {instruction!r}"
        raise PackError(f"{self.folder / MANIFEST} has no {what}; it holds: "
                        f"{'; '.join(repr(i) for i in self.instructions()) or 'no instruction'}. "
                        "Pick one of those, or add the file with `instructlin embed` and list it in the manifest.")

    def check_texts(self, texts: Sequence[str], *, name: str) -> None:
        """Refuse a dataset whose texts (exact, in order) are not the ones the pack was made from."""
        found = texts_digest(texts)
        if found != self.texts_sha256:
            raise PackError(
                f"{self.folder / MANIFEST}: the pack was made from other texts ({self.n_texts} texts of "
                f"{self.corpus}, SHA-256 {self.texts_sha256[:12]}) than {name} ({len(texts)} texts, SHA-256 "
                f"{found[:12]}); use it with that corpus, every row in file order, or remake the pack.")

    def load(self, instruction: str | None) -> np.ndarray:
        """The array of ``instruction`` (None: base), checked against the manifest; read-only float32."""
        entry = self.file_for(instruction)
        path = self.folder / entry.file
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise PackError(f"{path}: cannot be read ({err.strerror or err}); restore the pack's files "
                            f"or remake it with the command in {MANIFEST}.") from None
        found = hashlib.sha256(raw).hexdigest()
        if found != entry.sha256:
            raise PackError(f"{path}: SHA-256 {found[:12]} is not the manifest's {entry.sha256[:12]}; the file "
                            f"changed after the pack was made: restore it, or remake it with the command in "
                            f"{MANIFEST} and update its sha256.")
        array = decode_npy(io.BytesIO(raw), str(path), error=PackError)
        if tuple(array.shape) != entry.shape or str(array.dtype) != entry.dtype:
            raise PackError(f"{path}: a {array.dtype} array of shape {tuple(array.shape)}, but the manifest says "
                            f"{entry.dtype} {entry.shape}; fix the manifest or remake the file.")
        check_finite(array, str(path))
        array = np.ascontiguousarray(array, dtype=np.float32)
        array.setflags(write=False)
        return array

    def encode_timing(self, name: str, n_texts: int) -> Timing:
        """The teacher's time to encode ``n_texts`` texts, from the pack's recorded seconds per text."""
        if self.seconds_per_text is None:
            raise PackError(f"{self.folder / MANIFEST} records no encode time (encode_seconds_per_text), so the "
                            "cost of a new instruction cannot be given; add the teacher's measured time per text.")
        seconds = self.seconds_per_text * n_texts
        return Timing(name, seconds, (seconds,), {"texts": n_texts, "seconds_per_text": self.seconds_per_text,
                                                  "source": f"recorded in {MANIFEST}: {self.timing_note}"})


def pack_timings(
    pack: Pack, *, mapper: Any, base_test: np.ndarray, n_train: int, fit_s: float | None
) -> dict[str, Timing]:
    """The steps of one instruction on a pack, with nothing encoded: the teacher's recorded encode time
    (for the test part, as a clocked sample is scaled), the fit as it ran (one run), the map clocked."""
    n_test = len(base_test)
    fit = float("nan") if fit_s is None else float(fit_s)
    return {
        "encode_base": pack.encode_timing("encode_base", n_test),
        "encode_instructed": pack.encode_timing("encode_instructed", n_test),
        "fit": Timing("fit", fit, (fit,), {"repeats": 1, "n_train": n_train, "source": "the fit shown, as it ran"}),
        "map": time_call(lambda: mapper.transform(base_test), name="map", repeats=21, params={"n_test": n_test}),
    }


def _field(manifest: Mapping[str, Any], key: str, path: Path, kind: type | tuple[type, ...]) -> Any:
    value = manifest.get(key)
    if not isinstance(value, kind):
        raise PackError(f"{path}: field {key!r} is missing or not a {getattr(kind, '__name__', kind)}; "
                        "see data/teacher/manifest.json for the format.")
    return value


def _file_entry(raw: Any, path: Path) -> PackFile:
    if not isinstance(raw, Mapping):
        raise PackError(f"{path}: every entry of 'files' must be an object; see data/teacher/manifest.json.")
    name = _field(raw, "file", path, str)
    if Path(name).name != name or not name.endswith(".npy") or name.startswith("."):
        raise PackError(f"{path}: file {name!r} must be a plain .npy file name inside the pack's folder.")
    instruction = raw.get("instruction")
    if instruction is not None and (not isinstance(instruction, str) or not instruction.strip()):
        raise PackError(f"{path}: {name}: 'instruction' must be a non-empty string, or null for base embeddings.")
    shape = _field(raw, "shape", path, list)
    if len(shape) != 2 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise PackError(f"{path}: {name}: 'shape' must be [n_texts, dim], got {shape!r}.")
    labelling = raw.get("labelling")
    if labelling is not None and (not isinstance(labelling, str) or not labelling.strip()):
        raise PackError(f"{path}: {name}: 'labelling' must be a label column's name, or absent.")
    return PackFile(name, instruction, tuple(shape), str(raw.get("dtype", "float32")),
                    str(_field(raw, "sha256", path, str)).lower(), labelling)


def read_pack(folder: str | Path) -> Pack:
    """Read and check a pack's manifest (the arrays are checked when loaded)."""
    path = (folder := Path(folder)) / MANIFEST
    try:
        raw = path.read_bytes()
    except OSError:
        raise PackError(f"No embedding pack at {folder}: {MANIFEST} is missing there; point to a pack folder "
                        f"(manifest.json + .npy files, like data/teacher in a checkout).") from None
    try:
        manifest = json.loads(raw)
    except JSON_ERRORS as err:
        raise PackError(f"{path} is not valid JSON ({json_problem(err)}); fix it or restore the pack.") from None
    if not isinstance(manifest, Mapping):
        raise PackError(f"{path} must hold a JSON object; see data/teacher/manifest.json for the format.")
    texts = _field(manifest, "texts", path, Mapping)
    files = tuple(_file_entry(entry, path) for entry in _field(manifest, "files", path, list))
    n_texts = _field(texts, "n", path, int)
    if not files or sum(f.instruction is None for f in files) != 1:
        raise PackError(f"{path}: 'files' must list exactly one base array (instruction null) and the instructed "
                        "ones.")
    for entry in files:
        if entry.shape != (n_texts, files[0].shape[1]):
            raise PackError(f"{path}: {entry.file} has shape {list(entry.shape)}, but the pack holds {n_texts} "
                            f"texts of d={files[0].shape[1]}; every file must be [{n_texts}, {files[0].shape[1]}].")
    seconds = manifest.get("encode_seconds_per_text")
    model = _field(manifest, "model", path, str)
    return Pack(
        folder=folder, model=model, name=str(manifest.get("name") or model.split(" (")[0].split("/")[-1]),
        template=str(manifest.get("template", "")), max_seq_length=manifest.get("max_seq_length"),
        device=str(manifest.get("device", "unknown device")), texts_sha256=_field(texts, "sha256", path, str),
        n_texts=n_texts, corpus=str(texts.get("corpus", "its corpus")), files=files,
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        seconds_per_text=float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None,
        timing_note=str(manifest.get("encode_timing", "")),
    )
