"""Checks on an ``InstructionMap``'s parameters, run wherever they enter (fit, transform, load).

scikit-learn estimators do not validate in ``__init__`` (``set_params`` and cloning bypass it), so
the checks run at use: a bad value, typed or read from a config.json, fails with one line that names
the parameter and its valid range instead of writing wrong numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from instructlin.core.choices import Choice, Criterion, Loss, MapMethod, Prior

AUTO = "auto"
#: Rows mapped per block (``transform`` and ``instructlin map``): 64 Ki rows bound memory at any corpus size.
DEFAULT_CHUNK_SIZE = 65536


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _int_at_least(low: int, *, auto: bool = False) -> Callable[[Any], bool]:
    return lambda v: (auto and v == AUTO) or (_is_int(v) and v >= low)


def _positive(*, auto: bool = False) -> Callable[[Any], bool]:
    return lambda v: (auto and v == AUTO) or (_is_real(v) and v > 0)


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in choices


def _choice(enum: type[Choice], *, auto: bool = False) -> tuple[Callable[[Any], bool], str]:
    """The rule for a parameter that takes one of ``enum``'s values (and maybe ``"auto"``)."""
    choices = ((AUTO,) if auto else ()) + enum.values()
    return _one_of(*choices), f"one of {', '.join(choices)}"


def _alphas(value: Any) -> bool:
    return value is None or (isinstance(value, list | tuple) and len(value) > 0
                             and all(_is_real(a) and a > 0 for a in value))


#: parameter -> (check, what a valid value is, for the message)
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "method": _choice(MapMethod),
    "alpha": (_positive(auto=True), "'auto' or a finite number > 0"),
    "prior": _choice(Prior, auto=True),
    "rank": (_int_at_least(1, auto=True), "'auto' or an integer >= 1"),
    "n_components": (_int_at_least(1, auto=True), "'auto' or an integer >= 1"),
    "criterion": _choice(Criterion),
    "alphas": (_alphas, "null or a non-empty list of numbers > 0"),
    "cv": (_int_at_least(2), "an integer >= 2"),
    "epochs": (_int_at_least(1), "an integer >= 1"),
    "learning_rate": (_positive(), "a finite number > 0"),
    "batch_size": (_int_at_least(1), "an integer >= 1"),
    "weight_decay": (lambda v: _is_real(v) and v >= 0, "a finite number >= 0"),
    "loss": _choice(Loss),
    "patience": (_int_at_least(1), "an integer >= 1"),
    "validation_fraction": (lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)"),
    "device": (_one_of("auto", "cpu", "cuda", "mps"), "one of auto, cpu, cuda, mps"),
    "random_state": (lambda v: v is None or (_is_int(v) and v >= 0), "null or an integer >= 0"),
    "chunk_size": (_int_at_least(1), "an integer >= 1"),
    "callback": (lambda v: v is None or callable(v), "null or a callable"),
}


def check_params(params: dict[str, Any], *, source: str = "InstructionMap") -> None:
    """Raise ``ValueError`` naming the first unknown or out-of-range parameter in ``params``."""
    unknown = sorted(set(params) - set(RULES))
    if unknown:
        raise ValueError(f"{source}: unknown parameter {unknown[0]!r}; known: {', '.join(RULES)}.")
    for name, value in params.items():
        check, valid = RULES[name]
        if not check(value):
            raise ValueError(f"{source}: {name}={value!r} is invalid; it must be {valid}.")


#: ExperimentConfig field -> (smallest value, may it be None)
EXPERIMENT_MINIMUMS: dict[str, tuple[int, bool]] = {
    "seed": (0, False), "max_seq_length": (1, True), "batch_size": (1, False), "n_per_class": (1, True),
    "n_kmeans_seeds": (1, False), "n_splits": (1, False), "timing_repeats": (1, False),
    "timing_max_texts": (1, False), "n_instructions": (1, False),
}


def check_experiment_numbers(config: Any) -> None:
    """Raise ``ValueError`` naming the first integer field of an ExperimentConfig out of range."""
    for name, (low, optional) in EXPERIMENT_MINIMUMS.items():
        value = getattr(config, name)
        if optional and value is None:
            continue
        if not _is_int(value) or value < low:
            allowed = f"an integer >= {low}" + (" or None" if optional else "")
            raise ValueError(f"ExperimentConfig: {name}={value!r} is invalid; it must be {allowed}.")
