"""JSON parsing errors a user's file can cause, named in one place so every reader refuses them alike."""

from __future__ import annotations

import json

#: What ``json.loads`` raises on a bad file: bad syntax, bad UTF-8, or nesting deeper than Python recurses.
JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError, RecursionError)


def json_problem(err: BaseException) -> str:
    """What is wrong with a JSON text, in words: the parser's message, or that it nests too deeply."""
    if isinstance(err, RecursionError):
        return "it nests arrays or objects too deeply to parse"
    return str(err)
