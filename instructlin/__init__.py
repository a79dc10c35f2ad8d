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
    "DataError": "instructlin.errors",
    "EmbeddingCache": "instructlin.sources.cache",
    "Encoder": "instructlin.sources.encoders",
    "EncoderName": "instructlin.sources.encoders",
    "EncoderUnavailableError": "instructlin.errors",
    "ExperimentConfig": "instructlin.pipeline.experiment",
    "ExperimentResult": "instructlin.pipeline.experiment",
    "InstructionMap": "instructlin.core.mapping",
    "MapMethod": "instructlin.core.mapping",
    "MissingExtraError": "instructlin.errors",
    "PackError": "instructlin.errors",
    "Prior": "instructlin.core.mapping",
    "Selection": "instructlin.pipeline.sampling",
    "TextDataset": "instructlin.sources.datasets",
    "Timing": "instructlin.timing",
    "kmeans_v_measure": "instructlin.core.metrics",
    "load_dataset": "instructlin.sources.datasets",
    "load_demo": "instructlin.sources.datasets",
    "load_encoder": "instructlin.sources.encoders",
    "load_nyt": "instructlin.sources.datasets",
    "load_table": "instructlin.sources.datasets",
    "run_experiment": "instructlin.pipeline.experiment",
    "sample_per_class": "instructlin.sources.datasets",
    "select_train_rows": "instructlin.pipeline.sampling",
    "time_call": "instructlin.timing",
    "train_test_indices": "instructlin.pipeline.sampling",
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
    "PackError",
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
    from instructlin.core.mapping import InstructionMap, MapMethod, Prior
    from instructlin.core.metrics import kmeans_v_measure
    from instructlin.errors import DataError, EncoderUnavailableError, MissingExtraError, PackError
    from instructlin.pipeline.experiment import ExperimentConfig, ExperimentResult, run_experiment
    from instructlin.pipeline.sampling import Selection, select_train_rows, train_test_indices
    from instructlin.sources.cache import EmbeddingCache
    from instructlin.sources.datasets import (
        TextDataset,
        load_dataset,
        load_demo,
        load_nyt,
        load_table,
        sample_per_class,
    )
    from instructlin.sources.encoders import Encoder, EncoderName, load_encoder
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
