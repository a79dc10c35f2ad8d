"""instructlin: instruction-conditioned embeddings from base embeddings through a learned affine map."""

from __future__ import annotations

from instructlin.cache import EmbeddingCache
from instructlin.data import (
    DataError,
    TextDataset,
    load_dataset,
    load_demo,
    load_nyt,
    load_table,
    sample_per_class,
)
from instructlin.encoders import Encoder, EncoderName, EncoderUnavailableError, load_encoder
from instructlin.experiment import ExperimentConfig, ExperimentResult, run_experiment
from instructlin.mapping import InstructionMap, MapMethod, Prior
from instructlin.metrics import kmeans_v_measure
from instructlin.sampling import Selection, select_train_rows, train_test_indices
from instructlin.timing import Timing, time_call

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "EmbeddingCache",
    "Encoder",
    "EncoderName",
    "EncoderUnavailableError",
    "ExperimentConfig",
    "ExperimentResult",
    "InstructionMap",
    "MapMethod",
    "Prior",
    "TextDataset",
    "Timing",
    "kmeans_v_measure",
    "load_dataset",
    "load_demo",
    "load_encoder",
    "load_nyt",
    "load_table",
    "run_experiment",
    "Selection",
    "select_train_rows",
    "sample_per_class",
    "time_call",
    "train_test_indices",
]
