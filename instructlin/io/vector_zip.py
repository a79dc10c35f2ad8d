"""The one download layout for vectors with their ids: ``STEM.npy`` and ``ids.csv`` in one ``.zip``.

``ids.csv`` has the header ``id`` and one line per row of the array, in order, so the vectors can be
joined back to the corpus (or to the upload they came from). The ids go through :func:`csv_bytes`, so a
spreadsheet opens them as text.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import numpy as np

from instructlin.io.csv_export import csv_bytes

IDS_FILE = "ids.csv"


def vectors_zip(vectors: np.ndarray, ids: Sequence[object] | np.ndarray, *, stem: str = "mapped") -> bytes:
    """``{stem}.npy`` (float32, no pickle) and ``ids.csv`` (header ``id``; line i names row i) as a .zip."""
    array = np.asarray(vectors, dtype=np.float32)
    ids = [str(v) for v in np.asarray(ids, dtype=object).tolist()]
    if array.ndim != 2 or len(array) != len(ids):
        raise ValueError(f"{len(ids)} ids for an array of shape {array.shape}; give one id per row.")
    npy = io.BytesIO()
    np.save(npy, array, allow_pickle=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.npy", npy.getvalue())
        archive.writestr(IDS_FILE, csv_bytes(["id"], ([i] for i in ids)))
    return buffer.getvalue()
