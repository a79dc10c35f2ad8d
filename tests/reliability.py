"""Reliability cases: each regression test's parameters carry the row it adds to docs/reliability.md.

A test module lists its cases in a module-level ``CASES`` (or ``*_CASES``) list of :class:`Case` and
parametrises over them with :func:`params`; ``scripts/reliability_table.py`` collects every such list
into the table, so the document is generated from the tests, not written by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass(frozen=True)
class Case:
    """One bad input: what it is, where it enters (surface), what instructlin does, and test data."""

    input: str
    surface: str
    behaviour: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", f"{self.surface} {self.input}".lower()).strip("-")[:60]


def params(cases: list[Case]) -> list[Any]:
    """``pytest.param`` per case, with a readable id."""
    return [pytest.param(case, id=case.id) for case in cases]
