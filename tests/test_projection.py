"""shared_projection: one UMAP fitted on one set, the other sets placed in the same 2-D basis."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("umap")

from instructlin.projection import shared_projection  # noqa: E402


def test_shared_projection_places_every_set_in_one_basis():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 5
    fit_on = np.repeat(centres, 10, axis=0) + rng.normal(size=(30, 16)) * 0.1
    near = fit_on + rng.normal(size=fit_on.shape) * 0.01
    coords = shared_projection(fit_on, [near, fit_on[:5]], n_neighbors=5, seed=0)
    assert [c.shape for c in coords] == [(30, 2), (30, 2), (5, 2)]
    # a slightly moved copy lands near its original, because it is placed in the same basis
    spread = np.ptp(coords[0], axis=0).max()
    assert np.median(np.linalg.norm(coords[1] - coords[0], axis=1)) < 0.2 * spread


def test_shared_projection_rejects_other_dimensions():
    with pytest.raises(ValueError, match="d=8"):
        shared_projection(np.zeros((10, 8)), [np.zeros((3, 4))])
    with pytest.raises(ValueError, match="at least 4 rows"):
        shared_projection(np.zeros((2, 8)))
