"""Saving and loading a fitted map: ``model.safetensors`` (W, b) plus ``config.json`` (no pickle)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from instructlin.atomic import TEMP_PREFIX, atomic_files
from instructlin.errors import JSON_ERRORS, json_problem

MAP_FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
#: Fitted attributes written to config.json beside the weights.
FITTED_FIELDS = ("method_", "prior_", "alpha_", "size_", "cv_results_")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (a map's weights can be a gigabyte)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def is_saved_map(folder: Path) -> bool:
    """Whether ``folder`` holds a map written by :func:`save_map` (a transformer's config.json is not one)."""
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (folder / WEIGHTS_FILE).is_file() and isinstance(config, dict) and "format_version" in config \
        and "params" in config


def check_map_folder(path: str | Path) -> Path:
    """Refuse a folder a map must not be written into, before any work: a file, a folder holding the
    current one (``..``, the home folder), or a folder of other files that is not a saved map."""
    folder = Path(path)
    resolved = folder.resolve()
    if resolved.exists() and not resolved.is_dir():
        raise ValueError(f"{path} is a file; a map is a folder ({WEIGHTS_FILE} + {CONFIG_FILE}). Give a new "
                         "folder.")
    cwd = Path.cwd().resolve()
    if resolved != cwd and cwd.is_relative_to(resolved):
        raise ValueError(f"{path} ({resolved}) holds the current folder; a map is saved into a folder of its "
                         f"own. Give a new folder, such as {Path(path) / 'my-map'}.")
    others = sorted(e.name for e in os.scandir(resolved) if not e.name.startswith(TEMP_PREFIX)) \
        if resolved.is_dir() else []
    if others and not is_saved_map(resolved):
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ValueError(f"{path} is not a saved map and not empty (it holds {shown}); save the map into a "
                         "new or empty folder, so nothing else there is overwritten.")
    return folder


def save_map(estimator: Any, path: str | Path) -> Path:
    """Write the weights and the config (parameters, what CV chose and why) into the folder ``path``.

    Only those two files change, each written to a temp file in the folder and renamed into place (see
    atomic_files); the folder itself and anything else in it stay as they are. The config records the
    weights' SHA-256, so a reader between the two renames is told, not handed new weights with an old config.
    """
    from safetensors.numpy import save_file
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "coef_")
    folder = check_map_folder(path)
    params = {k: v for k, v in estimator.get_params().items() if k != "callback"}
    config = {
        "format_version": MAP_FORMAT_VERSION,
        "params": params,
        "n_features_in": int(estimator.n_features_in_),
        "n_features_out": int(estimator.coef_.shape[0]),
        "fitted": {f.rstrip("_"): getattr(estimator, f, None) for f in FITTED_FIELDS},
        "metadata": estimator.metadata_,
    }
    tensors = {"coef": estimator.coef_, "intercept": estimator.intercept_}
    _float32_or_refuse(tensors, f"Cannot save the map to {folder}: its weights")
    written: dict[str, str] = {}

    def weights(tmp: str) -> None:
        save_file(tensors, tmp)
        written[WEIGHTS_FILE] = tmp

    def config_json(tmp: str) -> None:  # runs second: the weights' temp file is complete
        text = json.dumps({**config, "weights_sha256": file_sha256(written[WEIGHTS_FILE])}, indent=2)
        Path(tmp).write_text(text, encoding="utf-8")

    atomic_files(folder, {WEIGHTS_FILE: weights, CONFIG_FILE: config_json})
    return folder


def load_map(cls: type, path: str | Path) -> Any:
    """Rebuild an estimator of class ``cls`` from a folder written by :func:`save_map`.

    Everything read is checked (JSON shape, parameters, tensor names, shapes and finiteness), and
    each failure is a ``ValueError`` that names the file and the fix.
    """
    folder = Path(path)
    if not (folder / WEIGHTS_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"{folder} is not a saved map: it needs {WEIGHTS_FILE} and {CONFIG_FILE}."
        )
    config = _read_config(folder / CONFIG_FILE)
    d_in, d_out = config["n_features_in"], config["n_features_out"]
    coef, intercept = _read_weights(folder / WEIGHTS_FILE, d_in, d_out)
    recorded = config.get("weights_sha256")
    if recorded is not None and recorded != file_sha256(folder / WEIGHTS_FILE):
        raise ValueError(f"{folder / WEIGHTS_FILE} does not match {CONFIG_FILE} (its SHA-256 differs from the "
                         "one recorded there): the map is being saved right now, or one file was replaced. "
                         "Load it again, or save the map again.")
    from instructlin.core.params import check_params

    check_params(config["params"], source=str(folder / CONFIG_FILE))
    estimator = cls(**config["params"])
    estimator.coef_, estimator.intercept_ = coef, intercept
    estimator.n_features_in_ = d_in
    fitted = config.get("fitted") or {"method": config["params"].get("method"),
                                      "alpha": config.get("alpha")}
    for field in FITTED_FIELDS:
        setattr(estimator, field, fitted.get(field.rstrip("_"), [] if field == "cv_results_" else None))
    estimator.metadata_ = config.get("metadata") or {}
    estimator.history_ = []
    return estimator


def _read_config(path: Path) -> dict[str, Any]:
    """The parsed config.json, or a ValueError naming what is wrong with it."""
    refit = "Save the map again with InstructionMap.save or `instructlin fit`."
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except JSON_ERRORS as err:
        raise ValueError(f"{path} is not valid JSON ({json_problem(err)}). {refit}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, not {type(config).__name__}. {refit}")
    if config.get("format_version") not in READABLE_FORMATS:
        raise ValueError(
            f"{path} has map format {config.get('format_version')!r}; this instructlin "
            f"reads formats {READABLE_FORMATS}. Re-fit the map with this version."
        )
    if not isinstance(config.get("params"), dict):
        raise ValueError(f"{path} needs a 'params' object (the estimator's parameters). {refit}")
    for key in ("n_features_in", "n_features_out"):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{path}: {key} must be a positive integer, got {value!r}. {refit}")
    if not isinstance(config.get("fitted") or {}, dict) or not isinstance(config.get("metadata") or {}, dict):
        raise ValueError(f"{path}: 'fitted' and 'metadata' must be JSON objects. {refit}")
    return config


def _read_weights(path: Path, d_in: int, d_out: int):
    """``coef`` (d_out, d_in) and ``intercept`` (d_out,), finite float32, or a ValueError naming the file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    refit = "The file is damaged or not a map's weights; save the map again."
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path} cannot be read as safetensors ({err}). {refit}") from None
    except TypeError as err:  # a dtype numpy lacks, such as bfloat16
        raise ValueError(f"{path} holds weights of a type numpy cannot read ({err}); save the map's "
                         "weights as float32 (InstructionMap.save does).") from None
    if set(tensors) != {"coef", "intercept"}:
        raise ValueError(f"{path} holds tensors {sorted(tensors)}; a map has 'coef' and 'intercept'. {refit}")
    coef, intercept = tensors["coef"], tensors["intercept"]
    if coef.shape != (d_out, d_in) or intercept.shape != (d_out,):
        raise ValueError(
            f"{path}: coef {coef.shape} and intercept {intercept.shape} disagree with config.json, "
            f"which declares ({d_out}, {d_in}) and ({d_out},). {refit}"
        )
    return _float32_or_refuse({"coef": coef, "intercept": intercept}, f"{path} holds weights that")


def _float32_or_refuse(tensors: dict[str, Any], what: str) -> tuple[Any, Any]:
    """``coef`` and ``intercept`` as float32, or a ValueError where either is NaN or inf, or overflows float32."""
    import numpy as np

    for name, array in tensors.items():
        if array.dtype.kind not in "fiu":
            raise ValueError(f"{what} are of type {array.dtype} ({name!r}); a map's weights are float32.")
    with np.errstate(over="ignore", invalid="ignore"):
        coef, intercept = (np.asarray(tensors[k], dtype=np.float32) for k in ("coef", "intercept"))
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(f"{what} are NaN, inf or beyond float32's range (|value| > 3.4e38). Fit the map "
                         "again on finite embeddings of ordinary scale (e.g. L2-normalised ones).")
    return coef, intercept
