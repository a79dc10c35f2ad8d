"""A shared 2-D UMAP basis: fit once on one embedding set, place the others in the same plane."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence

import numpy as np

from instructlin.extras import require

_UMAP_JIT_CACHED = False


def _cache_umap_compilation() -> None:
    """Keep UMAP's numba-compiled helpers on disk (numba's own cache): umap leaves a few uncached, and
    compiling them costs each new process about 20 s on 2 CPU cores; from disk they load in under 1 s."""
    global _UMAP_JIT_CACHED
    if _UMAP_JIT_CACHED:
        return
    _UMAP_JIT_CACHED = True
    for name in ("umap.utils", "umap.umap_", "umap.layouts"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for value in list(vars(module).values()):
            if type(getattr(value, "_cache", None)).__name__ == "NullCache" and hasattr(value, "enable_caching"):
                try:
                    value.enable_caching()
                except Exception:  # no writable cache folder: compile in memory as before
                    pass


def shared_projection(
    fit_on: np.ndarray,
    others: Sequence[np.ndarray] = (),
    *,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 42,
) -> list[np.ndarray]:
    """2-D coordinates of ``fit_on`` and of each of ``others``, all in the basis fitted on ``fit_on``.

    Positions are comparable across the sets because one UMAP is fitted and the rest are transformed.
    """
    umap = require("umap", purpose="UMAP projections")
    _cache_umap_compilation()

    fit_on = np.asarray(fit_on, dtype=np.float32)
    if fit_on.ndim != 2 or len(fit_on) < 4:
        raise ValueError(f"UMAP needs a 2-D array with at least 4 rows, got shape {fit_on.shape}.")
    for other in others:
        if np.ndim(other) != 2 or np.shape(other)[1] != fit_on.shape[1]:
            raise ValueError(
                f"Every set must have d={fit_on.shape[1]} columns like the fitted one, "
                f"got shape {np.shape(other)}."
            )
    reducer = umap.UMAP(
        n_neighbors=max(2, min(n_neighbors, len(fit_on) - 1)), min_dist=min_dist,
        metric="cosine", random_state=seed, n_jobs=1,
        init="spectral" if len(fit_on) > 16 else "random",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns about n_jobs with a seed and tiny graphs
        coords = [reducer.fit_transform(fit_on)]
        coords += [reducer.transform(np.asarray(o, dtype=np.float32)) for o in others]
    return [np.asarray(c, dtype=np.float32) for c in coords]
