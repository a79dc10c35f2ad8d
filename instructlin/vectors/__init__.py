"""Bring your own vectors: read and align base, instructed and label files, then fit, score and export."""

from instructlin.vectors.files import AlignedVectors, LabelFile, VectorFile, align, read_labels, read_vectors
from instructlin.vectors.runs import VectorRun, VectorSpec, fit_vectors, run_vectors

__all__ = [
    "AlignedVectors",
    "LabelFile",
    "VectorFile",
    "VectorRun",
    "VectorSpec",
    "align",
    "fit_vectors",
    "read_labels",
    "read_vectors",
    "run_vectors",
]
