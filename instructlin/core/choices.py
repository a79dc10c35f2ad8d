"""The map's named choices (method, prior, CV criterion, SGD loss): ``str`` enums whose errors list the valid values."""

from __future__ import annotations

from enum import Enum

__all__ = ["Choice", "Criterion", "Loss", "MapMethod", "Prior"]


class Choice(str, Enum):
    """A named choice: a ``str`` (JSON and argparse see the plain value) that refuses a typo by listing the rest."""

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every valid value, in definition order."""
        return tuple(member.value for member in cls)

    @classmethod
    def _missing_(cls, value: object) -> Choice:
        raise ValueError(f"{value!r} is not a valid {cls.__name__}; choose one of: {', '.join(cls.values())}.")


class MapMethod(Choice):
    """How the map is fitted; ``auto`` chooses among the closed-form ones by label-free CV."""

    AUTO = "auto"
    RIDGE = "ridge"
    REDUCED_RANK = "reduced-rank"
    PCA_RIDGE = "pca-ridge"
    PROCRUSTES = "procrustes"
    SGD = "sgd"


class Prior(Choice):
    """What ridge shrinks the matrix toward: the identity (residual form), a fitted multiple of it, or zero."""

    IDENTITY = "identity"
    SCALED = "scaled"  # c * identity, c the teacher's least-squares scale on the base outside the learned features
    ZERO = "zero"


class Criterion(Choice):
    """What the CV maximises over out-of-fold predictions."""

    PROFILE = "profile"  # each held-out row's cosines to the teacher rows, against the teacher's own: a stand-in
    NEIGHBOURS = "neighbours"  # kNN (k=10) agreement with the teacher: what clustering sees
    COSINE = "cosine"  # mean row cosine with the teacher: fidelity of each vector


class Loss(Choice):
    """What the SGD map minimises."""

    MSE = "mse"
    COSINE = "cosine"
    MSE_COSINE = "mse+cosine"
