"""Embedding arrays on disk: checked ``.npy`` reads and the encoder provenance written beside them.

``instructlin embed`` writes ``NAME.npy`` and ``NAME.npy.json`` (which encoder, template, instruction);
``fit`` records that encoder in the map and ``map`` refuses input that names another one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from instructlin.atomic import atomic_write
from instructlin.core.checks import check_finite
from instructlin.errors import JSON_ERRORS, DataError, json_problem, one_line
from instructlin.extras import require

NPY_MAGIC = b"\x93NUMPY"
#: The Parquet schema metadata key that holds the same provenance as a ``.npy.json`` sidecar.
PARQUET_ENCODER_KEY = b"instructlin.encoder"


def decode_npy(source: str | Path | BinaryIO, what: str, *, error: type[DataError] = DataError) -> np.ndarray:
    """The one ``.npy`` decoder: numbers only, never unpickled; a damaged file is an ``error`` naming ``what``."""
    try:
        return np.load(source, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise error(f"{what} holds Python objects, which instructlin never unpickles; save a numeric "
                        "array (numpy.save of a float array).") from None
        raise error(f"{what} is truncated or damaged ({one_line(err)}).") from None
    except (OSError, EOFError) as err:
        raise error(f"{what} is truncated or damaged ({one_line(err)}).") from None


def load_npy(path: str | Path, what: str) -> np.ndarray:
    """A finite 2-D float array from a ``.npy`` file, or a DataError naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path}: no such file. Check the path.")
    with path.open("rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise DataError(f"{what} {path} is not a .npy file; save embeddings with numpy.save "
                            "(or `instructlin embed`).")
        handle.seek(0)
        check_npy_size(handle, f"{what} {path}")
    array = decode_npy(path, f"{what} {path}")
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{what} {path} holds a {array.dtype} array of shape {array.shape}; "
                        "expected numbers of shape (n_texts, dim).")
    check_finite(array, f"{what} {path}")
    return array


def read_npy_header(handle: Any, what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an open ``.npy`` file's header, leaving it at the data: the one
    header reader (nothing decoded), or a DataError naming ``what``."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0  # 3.0: as 2.0
        return reader(handle)
    except (ValueError, EOFError) as err:
        raise DataError(f"{what} is not a .npy file, or its header is damaged ({one_line(err)}); "
                        "save the array with numpy.save.") from None


def check_npy_size(handle: Any, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of an open ``.npy``; a DataError where its data is shorter than its header declares."""
    shape, _, dtype = read_npy_header(handle, what)
    if not dtype.hasobject:  # object arrays are refused by np.load: they are never unpickled
        missing = int(np.prod(shape)) * dtype.itemsize - (os.fstat(handle.fileno()).st_size - handle.tell())
        if missing > 0:
            raise DataError(f"{what} is truncated: {missing} bytes of its {' x '.join(map(str, shape))} array are "
                            "missing. Copy or save it again.")
    return shape, dtype


def sidecar_path(path: str | Path) -> Path:
    """Where the provenance of ``path`` lives: ``NAME.npy`` -> ``NAME.npy.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def write_sidecar(path: str | Path, provenance: dict[str, Any]) -> None:
    """Write the provenance JSON beside an embeddings file, atomically."""
    text = json.dumps(provenance, indent=2)
    atomic_write(sidecar_path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def input_encoder(path: str | Path) -> str | None:
    """The encoder id an embeddings file declares (sidecar or Parquet metadata), or None."""
    path = Path(path)
    if path.suffix == ".parquet" and path.is_file():
        pq = require("pyarrow.parquet", purpose="reading Parquet")

        try:
            metadata = pq.read_schema(path).metadata or {}
        except Exception:  # unreadable files are reported by the reader itself
            return None
        raw = metadata.get(PARQUET_ENCODER_KEY)
        return raw.decode("utf-8") if raw else None
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        provenance = json.loads(sidecar.read_text(encoding="utf-8"))
    except JSON_ERRORS as err:
        raise DataError(f"{sidecar} is not valid JSON ({json_problem(err)}); fix or delete it.") from None
    encoder = provenance.get("encoder") if isinstance(provenance, dict) else None
    return str(encoder) if encoder else None
