"""A map fitted, scored and exported on uploaded vectors (from ``instructlin.vectors.files``), with no encoder.

Rows with instructed vectors are the training pairs. When every row has one, a seeded split is held
out and scored: cosine to the instructed vectors always, V-measure when labels were given.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from instructlin.core.mapping import InstructionMap
from instructlin.core.metrics import AspectScores, Score, aspect_scores, cosine_summary, kmeans_v_measure
from instructlin.extras import require
from instructlin.io.budgets import APP_MAX_VECTOR_VALUES
from instructlin.pipeline.specs import DataSpec, EmbeddingSpec, EncoderSpec, MapSpec, SplitSpec, build_map
from instructlin.pipeline.stage_results import Embeddings
from instructlin.pipeline.stages import fit_map, split_rows
from instructlin.pipeline.standin import StandIn, stand_in
from instructlin.sources.datasets import TextDataset
from instructlin.vectors.files import AlignedVectors, align, read_labels, read_vectors

#: V-measure is computed on at most this many held-out rows (a seeded sample): k-means stays quick.
MAX_SCORED_ROWS = 5_000
#: The one "aspect" of an upload: its instructed vectors, whatever instruction made them.
UPLOADED = "uploaded"


@dataclass(frozen=True)
class VectorSpec:
    """Which files (stored paths and the names users know them by) and how to fit: the cache key of a run.

    ``id_column``: None takes a column named ``id`` where a file has one; ``""`` ignores ids and matches
    rows by position. ``vector_column`` / ``label_column``: None where a file has only one candidate.
    """

    base: str
    instructed: str
    labels: str | None = None
    names: tuple[str | None, str | None, str | None] = (None, None, None)
    id_column: str | None = None
    vector_column: str | None = None
    label_column: str | None = None
    method: str = "auto"
    train_size: float | int = 0.2
    seed: int = 42


@dataclass(frozen=True)
class VectorRun:
    """A map fitted on uploaded vectors; held-out scores when every row has an instructed vector."""

    aligned: AlignedVectors
    model: InstructionMap
    mapped: np.ndarray  # every row, base order
    train: np.ndarray
    test: np.ndarray  # empty when only some rows have instructed vectors
    cosine_base: float | None
    cosine_mapped: float | None
    scores: AspectScores | None  # V-measure of base, mapped, instructed on (a sample of) the test rows
    n_scored: int
    #: With only some rows instructed and labels given: V-measure of base and mapped on the other rows.
    unpaired_scores: dict[str, Score] | None = None
    #: Held-out rows (the same sample as V-measure): how well the mapped vectors stand in for the instructed.
    stand_in: StandIn | None = None


def run_vectors(spec: VectorSpec) -> VectorRun:
    """Read and align the files of ``spec`` within the app's budget (``APP_MAX_VECTOR_VALUES`` numbers per
    file, checked before decoding), then fit and score the map (what the app's page runs, cached)."""
    ids = {"id_column": spec.id_column or None, "ids": spec.id_column != ""}
    base_name, instructed_name, labels_name = spec.names
    budget = {"vector_column": spec.vector_column, "max_values": APP_MAX_VECTOR_VALUES, **ids}
    base = read_vectors(spec.base, name=base_name, **budget)
    instructed = read_vectors(spec.instructed, name=instructed_name, **budget)
    labels = None if spec.labels is None else read_labels(spec.labels, name=labels_name,
                                                          label_column=spec.label_column, **ids)
    return fit_vectors(align(base, instructed, labels), method=spec.method, train_size=spec.train_size,
                       seed=spec.seed)


def fit_vectors(aligned: AlignedVectors, *, method: str = "auto", train_size: float | int = 0.2,
                seed: int = 42, n_seeds: int = 10) -> VectorRun:
    """Fit on the instructed rows; with every row instructed, fit on a seeded ``train_size`` and score the rest."""
    n = len(aligned.base)
    spec = _map_spec(method=method, train_size=train_size, seed=seed)
    if aligned.complete:  # the stages' split and fit, on arrays (the rows' texts are not known)
        labels = {} if aligned.labels is None else {"label": aligned.labels}
        split = split_rows(spec=spec.split, dataset=TextDataset("vectors", [""] * n, labels))
        embeddings = Embeddings(((UPLOADED, ""),), aligned.base, {UPLOADED: aligned.instructed})
        model = fit_map(spec=spec, embeddings=embeddings, split=split,
                        metadata={"source": "uploaded vectors", "n_pairs": int(len(split.train))}).model
        train, test = split.train, split.test
    else:  # no split: every instructed row is a training pair, in the order of ``paired``
        train, test = aligned.paired, np.array([], dtype=np.int64)
        model = build_map(spec)
        model.fit(aligned.base[train], aligned.instructed, X_unpaired=aligned.base,
                  metadata={"source": "uploaded vectors", "n_pairs": int(len(train))})
    mapped = model.transform(aligned.base).astype(np.float32)
    if not len(test):
        rest = np.setdiff1d(np.arange(n), train)
        if aligned.labels is None or len(rest) < 2 or len(np.unique(aligned.labels[rest])) < 2:
            return VectorRun(aligned, model, mapped, train, test, None, None, None, 0)
        rows = _sample(rest, seed)
        unpaired = {space: kmeans_v_measure(vectors[rows], aligned.labels[rows], n_seeds=n_seeds)
                    for space, vectors in (("base", aligned.base), ("mapped", mapped))}
        return VectorRun(aligned, model, mapped, train, test, None, None, None, len(rows), unpaired)
    target = aligned.instructed[test]  # complete: every row is paired, in base order
    cos_base = cosine_summary(aligned.base[test], target)["mean"]
    cos_mapped = cosine_summary(mapped[test], target)["mean"]
    pick = _sample(np.arange(len(test)), seed)
    rows = test[pick]
    labels = None if aligned.labels is None else aligned.labels[rows]
    standin = stand_in(aligned.base[rows], mapped[rows], target[pick], labels, seed=seed) if len(rows) > 1 else None
    scores = None if labels is None else aspect_scores(aligned.base[rows], mapped[rows], target[pick], labels,
                                                       aspect="label", n_seeds=n_seeds)
    return VectorRun(aligned, model, mapped, train, test, cos_base, cos_mapped, scores,
                     len(rows), stand_in=standin)


def _map_spec(*, method: str, train_size: float | int, seed: int) -> MapSpec:
    """The map of an upload in the stages' terms: the data is the upload, no encoder made it."""
    data = DataSpec(data="uploaded vectors")
    return MapSpec(EmbeddingSpec(data, EncoderSpec(name="uploaded")), SplitSpec(data, train_size, seed=seed),
                   UPLOADED, method, seed=seed)


def _sample(rows: np.ndarray, seed: int) -> np.ndarray:
    """At most ``MAX_SCORED_ROWS`` of ``rows`` (a seeded sample, in order): scores stay quick and small."""
    if len(rows) <= MAX_SCORED_ROWS:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, MAX_SCORED_ROWS, replace=False))


def exported_vectors(run: VectorRun, *, keep_instructed: bool = False) -> np.ndarray:
    """Every row's mapped vector; with ``keep_instructed``, the given instructed vector where a row has one."""
    vectors = run.mapped.copy()
    if keep_instructed:
        vectors[run.aligned.paired] = run.aligned.instructed
    return vectors



def parquet_bytes(ids: np.ndarray, vectors: np.ndarray, *, metadata: dict[str, Any] | None = None) -> bytes:
    """A Parquet file with an ``id`` column and a fixed-size-list ``vector`` column (float32)."""
    pa, pq = require("pyarrow", purpose="Parquet"), require("pyarrow.parquet", purpose="Parquet")
    vectors = np.asarray(vectors, dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    table = pa.table({"id": pa.array(np.asarray(ids).tolist()), "vector": column})
    if metadata:
        table = table.replace_schema_metadata({b"instructlin": json.dumps(metadata).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
