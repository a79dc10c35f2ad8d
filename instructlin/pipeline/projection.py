"""2-D UMAP planes of several embedding sets of the same rows, one fit per set, turned onto one reference.

Each set gets its own UMAP, so each plane shows that set's own structure (a base plane is not pulled toward
the instructed one); each plane is then rotated or reflected (orthogonal Procrustes), scaled and shifted onto
the reference's plane at its size, so one row sits in comparable places across panels. A plane's shape never
changes. UMAP sees each set's top principal coordinates, not the raw vectors (see :data:`INPUT_COMPONENTS`).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from instructlin.core.metrics import l2_normalize
from instructlin.core.solvers import pca_basis
from instructlin.extras import require

#: UMAP's settings, chosen by how close k-means V-measure on the 2-D coordinates stays to V on the full
#: embeddings (benchmarks/projection_benchmark.py): wide neighbourhoods and spread-out points keep the
#: global layout, where the defaults (15 neighbours, min_dist 0.1) tighten clusters that k-means on the full
#: embeddings does not find, and drop the weaker ones.
UMAP_SETTINGS: dict[str, Any] = {"n_neighbors": 200, "min_dist": 0.99, "metric": "cosine"}
#: UMAP is given each set's top principal coordinates (of its L2-normalised rows), where k-means on the full
#: embeddings finds its clusters; the hundreds of weaker directions otherwise decide UMAP's neighbours. With 16,
#: the gap between V on the plane and V on the embeddings halved on the demo and shrank on Reuters and
#: SynGoalEx, which were not used to choose it (benchmarks/projection_benchmark.py).
INPUT_COMPONENTS = 16
#: How the planes are put together, for records of stored planes (a change here makes them stale).
ALIGNMENT = (f"own UMAP per set on its top {INPUT_COMPONENTS} principal coordinates; orthogonal Procrustes onto "
             "the reference, scaled to its RMS spread")

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


def principal_coordinates(X: np.ndarray, n_components: int) -> np.ndarray:
    """The rows of ``X``, L2-normalised, on their top ``n_components`` principal directions (fewer where the rows
    or columns allow fewer)."""
    rows = l2_normalize(X)
    basis = pca_basis(rows, min(n_components, len(rows) - 1))
    return basis.project(rows, basis.components.shape[0]).astype(np.float32)


def umap_plane(
    X: np.ndarray, *, seed: int, input_components: int | None = INPUT_COMPONENTS, **settings: Any
) -> np.ndarray:
    """2-D UMAP coordinates of the rows of ``X`` (:data:`UMAP_SETTINGS`, overridable; one thread, seeded), fitted
    on their top ``input_components`` principal coordinates (``None``: on the rows as they are)."""
    umap = require("umap", purpose="UMAP projections")
    _cache_umap_compilation()
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) < 4:
        raise ValueError(f"UMAP needs a 2-D array with at least 4 rows, got shape {X.shape}.")
    if input_components is not None and input_components < X.shape[1]:
        X = principal_coordinates(X, input_components)
    params = {**UMAP_SETTINGS, **settings}
    params["n_neighbors"] = max(2, min(int(params["n_neighbors"]), len(X) - 1))
    reducer = umap.UMAP(n_components=2, random_state=seed, n_jobs=1,
                        init="spectral" if len(X) > 16 else "random", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns about n_jobs with a seed and about tiny graphs
        return np.asarray(reducer.fit_transform(X), dtype=np.float32)


def procrustes_onto(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` rotated or reflected (orthogonal Procrustes: row i as close to row i as it gets), scaled to
    the reference's spread and shifted onto its centre. Scaled by size, not by least squares, which would
    shrink a plane toward its centre the less it agrees with the reference (a mixed base would look tiny)."""
    reference, points = np.asarray(reference, dtype=np.float64), np.asarray(points, dtype=np.float64)
    if reference.shape != points.shape:
        raise ValueError(f"Procrustes needs two sets of the same shape, got {reference.shape} and {points.shape}.")
    ref_centre, centre = reference.mean(axis=0), points.mean(axis=0)
    a, b = points - centre, reference - ref_centre
    u, _, vt = np.linalg.svd(a.T @ b)
    size = float(np.linalg.norm(a))
    scale = float(np.linalg.norm(b)) / size if size > 0 else 1.0
    return (a @ (u @ vt) * scale + ref_centre).astype(np.float32)


def aligned_projection(
    views: Mapping[str, np.ndarray], *, reference: str, seed: int = 42, **settings: Any
) -> dict[str, np.ndarray]:
    """One UMAP plane per set of ``views`` (the same rows in each), each turned onto ``reference``'s plane."""
    if reference not in views:
        raise ValueError(f"The reference {reference!r} is not one of the sets {sorted(views)}.")
    n = {name: np.shape(X)[0] if np.ndim(X) == 2 else None for name, X in views.items()}
    if len(set(n.values())) != 1:
        raise ValueError(f"Every set must hold the same rows; got rows per set {n}.")
    planes = {name: umap_plane(X, seed=seed, **settings) for name, X in views.items()}
    return {name: plane if name == reference else procrustes_onto(planes[reference], plane)
            for name, plane in planes.items()}
