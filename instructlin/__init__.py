"""instructlin: instruction-conditioned embeddings from base embeddings through a learned affine map.

The public names below are imported on first use (PEP 562), so ``import instructlin`` stays light:
no torch, pandas or sentence-transformers until something needs them (see ``instructlin.extras``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "DataError": "instructlin.data",
    "EmbeddingCache": "instructlin.cache",
    "Encoder": "instructlin.encoders",
    "EncoderName": "instructlin.encoders",
    "EncoderUnavailableError": "instructlin.encoders",
    "ExperimentConfig": "instructlin.experiment",
    "ExperimentResult": "instructlin.experiment",
    "InstructionMap": "instructlin.mapping",
    "MapMethod": "instructlin.mapping",
    "MissingExtraError": "instructlin.extras",
    "Prior": "instructlin.mapping",
    "Selection": "instructlin.sampling",
    "TextDataset": "instructlin.data",
    "Timing": "instructlin.timing",
    "kmeans_v_measure": "instructlin.metrics",
    "load_dataset": "instructlin.data",
    "load_demo": "instructlin.data",
    "load_encoder": "instructlin.encoders",
    "load_nyt": "instructlin.data",
    "load_table": "instructlin.data",
    "run_experiment": "instructlin.experiment",
    "sample_per_class": "instructlin.data",
    "select_train_rows": "instructlin.sampling",
    "time_call": "instructlin.timing",
    "train_test_indices": "instructlin.sampling",
}

__all__ = [  # the same names as _EXPORTS (a test checks), literal so linters see the re-exports
    "DataError",
    "EmbeddingCache",
    "Encoder",
    "EncoderName",
    "EncoderUnavailableError",
    "ExperimentConfig",
    "ExperimentResult",
    "InstructionMap",
    "MapMethod",
    "MissingExtraError",
    "Prior",
    "Selection",
    "TextDataset",
    "Timing",
    "kmeans_v_measure",
    "load_dataset",
    "load_demo",
    "load_encoder",
    "load_nyt",
    "load_table",
    "run_experiment",
    "sample_per_class",
    "select_train_rows",
    "time_call",
    "train_test_indices",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on demand
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
    from instructlin.extras import MissingExtraError
    from instructlin.mapping import InstructionMap, MapMethod, Prior
    from instructlin.metrics import kmeans_v_measure
    from instructlin.sampling import Selection, select_train_rows, train_test_indices
    from instructlin.timing import Timing, time_call


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access, then keep it here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'instructlin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names plus the lazily imported public API."""
    return sorted(set(globals()) | set(__all__))
