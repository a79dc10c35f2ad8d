"""What the CLI, the app and the docs offer, read from the library's enums and constants in one place.

The enums live beside what they name (``choices``: map method, prior, criterion, loss; ``devices``;
``encoders.EncoderName``; ``sampling.Selection``; ``data.SUPPORTED_SUFFIXES``); this module lists
their values for argparse ``choices`` and widgets, and holds the app's upload limit.
"""

from __future__ import annotations

from instructlin.core.choices import Criterion, Loss, MapMethod, Prior
from instructlin.core.devices import DEVICE_CHOICES, Device
from instructlin.pipeline.sampling import Selection
from instructlin.sources.datasets import SUPPORTED_SUFFIXES
from instructlin.sources.encoders import EncoderName
from instructlin.vectors.files import MAX_VECTOR_DIM, MAX_VECTOR_ROWS, VECTOR_FILE_TYPES

__all__ = ["CRITERION_CHOICES", "DEVICE_CHOICES", "ENCODER_CHOICES", "FILE_TYPES", "LOSS_CHOICES",
           "MAX_UPLOAD_BYTES", "MAX_UPLOAD_MB", "MAX_VECTOR_DIM", "MAX_VECTOR_ROWS", "METHOD_CHOICES",
           "METHOD_LABELS", "PRIOR_CHOICES", "SELECTION_CHOICES", "SUPPORTED_SUFFIXES", "VECTOR_FILE_TYPES",
           "Device"]

METHOD_CHOICES: tuple[str, ...] = MapMethod.values()
PRIOR_CHOICES: tuple[str, ...] = Prior.values()
CRITERION_CHOICES: tuple[str, ...] = Criterion.values()
LOSS_CHOICES: tuple[str, ...] = Loss.values()
SELECTION_CHOICES: tuple[str, ...] = Selection.values()
ENCODER_CHOICES: tuple[str, ...] = EncoderName.values()
#: Table file types without the dot, as file pickers want them.
FILE_TYPES: tuple[str, ...] = tuple(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
#: The largest file the app accepts as an upload.
MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024

#: One line per map method, for widgets and help texts.
METHOD_LABELS: dict[str, str] = {
    MapMethod.AUTO.value: "auto (PCA ridge, scaled prior; label-free CV picks size and alpha)",
    MapMethod.PCA_RIDGE.value: "PCA ridge (basis from the whole corpus)",
    MapMethod.REDUCED_RANK.value: "reduced-rank ridge",
    MapMethod.RIDGE.value: "ridge (closed form)",
    MapMethod.PROCRUSTES.value: "Procrustes (orthogonal + bias)",
    MapMethod.SGD.value: "SGD linear layer (live)",
}
