"""A map as a .zip: written for download, and read back from an upload with every member's size checked
against config.json before anything unpacks."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from instructlin.core.map_io import CONFIG_FILE, WEIGHTS_FILE
from instructlin.errors import JSON_ERRORS, MapArchiveError, json_problem

if TYPE_CHECKING:
    from instructlin.core.mapping import InstructionMap

MAX_CONFIG_BYTES = 1_000_000
MAX_DIM = 16384
#: Room for the safetensors JSON header (names, dtypes, shapes, offsets; about 130 bytes in practice).
HEADER_MARGIN = 4096
FLOAT32_BYTES = 4



def weights_limit(n_in: int, n_out: int) -> int:
    """The largest ``model.safetensors`` a float32 map of these dimensions can be (W, b, and the header)."""
    return 8 + HEADER_MARGIN + FLOAT32_BYTES * (n_out * n_in + n_out)


def _check_declared(info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a member whose size in the zip's directory is above ``limit`` (nothing is read)."""
    if info.file_size > limit:
        raise MapArchiveError(f"{info.filename} unpacks to {info.file_size:,} bytes; it may be at most "
                              f"{limit:,} bytes here.")


def _bounded_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` bytes of a member, checked against both its declared and its actual size."""
    _check_declared(info, limit)
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise MapArchiveError(f"{info.filename} unpacks to more than {limit:,} bytes, the most it may be here.")
    return data


def _dimension(config: dict[str, Any], key: str) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int):  # only our own words and numbers in the message
        raise MapArchiveError(f"{CONFIG_FILE} gives {key} as {type(value).__name__}, not a whole number.")
    if not 1 <= value <= MAX_DIM:
        raise MapArchiveError(f"{CONFIG_FILE} declares {key}={value}; a map here has between 1 and "
                              f"{MAX_DIM} dimensions.")
    return value


def read_map_archive(source: IO[bytes], *, expected_dims: tuple[int, int] | None = None) -> dict[str, bytes]:
    """``config.json`` (at most 1 MB) and ``model.safetensors`` (at most what its declared dims need) of a map
    zip; ``expected_dims`` (d_in, d_out): refuse other declared dimensions before the weights are read."""
    try:
        with zipfile.ZipFile(source) as archive:
            missing = [name for name in (WEIGHTS_FILE, CONFIG_FILE) if name not in archive.namelist()]
            if missing:
                raise MapArchiveError(f"The archive lacks {' and '.join(missing)}; a map archive holds "
                                      f"{WEIGHTS_FILE} and {CONFIG_FILE} at the top level.")
            config_info, weights_info = archive.getinfo(CONFIG_FILE), archive.getinfo(WEIGHTS_FILE)
            if config_info.file_size > MAX_CONFIG_BYTES:
                raise MapArchiveError(f"{CONFIG_FILE} unpacks to {config_info.file_size:,} bytes; it may be "
                                      f"at most 1 MB ({MAX_CONFIG_BYTES:,} bytes).")
            raw_config = _bounded_read(archive, config_info, MAX_CONFIG_BYTES)
            try:
                config = json.loads(raw_config.decode("utf-8"))
            except JSON_ERRORS as err:
                raise MapArchiveError(f"{CONFIG_FILE} is not UTF-8 JSON ({json_problem(err)}).") from None
            if not isinstance(config, dict):
                raise MapArchiveError(f"{CONFIG_FILE} holds {type(config).__name__}, not a JSON object.")
            dims = (_dimension(config, "n_features_in"), _dimension(config, "n_features_out"))
            limit = weights_limit(*dims)
            _check_declared(weights_info, limit)
            if expected_dims is not None and dims != tuple(expected_dims):
                raise MapArchiveError(f"{CONFIG_FILE} declares a {dims[0]} -> {dims[1]} map; these embeddings "
                                      f"need {expected_dims[0]} -> {expected_dims[1]}. Upload a map fitted on "
                                      "this encoder's embeddings.")
            return {CONFIG_FILE: raw_config, WEIGHTS_FILE: _bounded_read(archive, weights_info, limit)}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error):
        raise MapArchiveError("It is not a readable zip archive (or a member is damaged or encrypted).") from None


def unpack_map_archive(source: IO[bytes], folder: str | Path, *, expected_dims: tuple[int, int] | None = None) -> Path:
    """Write the two checked members of a map zip into ``folder`` (no name from the zip is used as a path)."""
    folder = Path(folder)
    for name, data in read_map_archive(source, expected_dims=expected_dims).items():
        (folder / name).write_bytes(data)
    return folder


def map_zip(model: InstructionMap) -> bytes:
    """The fitted map as a .zip of ``model.safetensors`` + ``config.json`` (the app's map format, no pickle)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "map")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in (WEIGHTS_FILE, CONFIG_FILE):
                archive.write(Path(folder) / member, member)
    return buffer.getvalue()
