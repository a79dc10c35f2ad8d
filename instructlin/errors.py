"""Every error instructlin raises on purpose, in one module, and the one way to put a message on one line.

Each message names the problem and the fix; the CLI prints it as one line and exits 2, the app shows it.
"""

from __future__ import annotations

import json

__all__ = [
    "JSON_ERRORS",
    "DataError",
    "EncoderUnavailableError",
    "MapArchiveError",
    "MissingExtraError",
    "PackError",
    "json_problem",
    "one_line",
]


class DataError(ValueError):
    """Input (a dataset, a table, an embeddings file) cannot be used as given."""


class PackError(DataError):
    """A pack of precomputed embeddings cannot be used as it is; the message names the file."""


class MapArchiveError(ValueError):
    """An uploaded archive that is not a map instructlin will unpack; the message says why."""


class EncoderUnavailableError(RuntimeError):
    """An encoder (or the device it needs) cannot be had here; the message says what to use instead."""


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message says which extra installs it."""


#: What ``json.loads`` raises on a bad file: bad syntax, bad UTF-8, or nesting deeper than Python recurses.
JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError, RecursionError)


def json_problem(err: BaseException) -> str:
    """What is wrong with a JSON text, in words: the parser's message, or that it nests too deeply."""
    if isinstance(err, RecursionError):
        return "it nests arrays or objects too deeply to parse"
    return str(err)


def one_line(message: object) -> str:
    """``message`` as one line: runs of whitespace (newlines from a library's message) become one space."""
    return " ".join(str(message).split())
