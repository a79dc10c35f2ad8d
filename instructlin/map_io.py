"""Saving and loading a fitted map: ``model.safetensors`` (W, b) plus ``config.json`` (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from instructlin.atomic import atomic_write

MAP_FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
#: Fitted attributes written to config.json beside the weights.
FITTED_FIELDS = ("method_", "prior_", "alpha_", "size_", "cv_results_")


def save_map(estimator: Any, path: str | Path) -> Path:
    """Write the weights and the config (parameters, what CV chose and why) atomically."""
    from safetensors.numpy import save_file
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "coef_")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
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
    atomic_write(folder / WEIGHTS_FILE, lambda tmp: save_file(tensors, tmp))
    atomic_write(
        folder / CONFIG_FILE,
        lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2), encoding="utf-8"),
    )
    return folder


def load_map(cls: type, path: str | Path) -> Any:
    """Rebuild an estimator of class ``cls`` from a folder written by :func:`save_map`."""
    from safetensors.numpy import load_file

    folder = Path(path)
    if not (folder / WEIGHTS_FILE).exists() or not (folder / CONFIG_FILE).exists():
        raise FileNotFoundError(
            f"{folder} is not a saved map: it needs {WEIGHTS_FILE} and {CONFIG_FILE}."
        )
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("format_version") not in READABLE_FORMATS:
        raise ValueError(
            f"{folder} has map format {config.get('format_version')!r}; this instructlin "
            f"reads formats {READABLE_FORMATS}. Re-fit the map with this version."
        )
    tensors = load_file(str(folder / WEIGHTS_FILE))
    coef, intercept = tensors["coef"], tensors["intercept"]
    if coef.shape != (config["n_features_out"], config["n_features_in"]):
        raise ValueError(f"{folder}: weights of shape {coef.shape} disagree with config.json.")
    estimator = cls(**config["params"])
    estimator.coef_, estimator.intercept_ = coef, intercept
    estimator.n_features_in_ = int(config["n_features_in"])
    fitted = config.get("fitted") or {"method": config["params"].get("method"),
                                      "alpha": config.get("alpha")}
    for field in FITTED_FIELDS:
        setattr(estimator, field, fitted.get(field.rstrip("_"), [] if field == "cv_results_" else None))
    estimator.metadata_ = config.get("metadata", {})
    estimator.history_ = []
    return estimator
