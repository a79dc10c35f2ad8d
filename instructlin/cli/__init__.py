"""The ``instructlin`` command: evaluate, embed, fit and map."""

from instructlin.cli.commands import main

__all__ = ["main"]
