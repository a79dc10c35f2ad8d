"""How a command ends: exit 0; 2 and one line for a problem the user can fix; 130 on Ctrl-C; 1 for a bug."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable

from instructlin.errors import DataError, EncoderUnavailableError, MissingExtraError, one_line

#: Errors that mean the input, a flag or the machine needs fixing, not instructlin: exit 2.
USER_ERRORS = (DataError, EncoderUnavailableError, MissingExtraError, ValueError, OSError)
INTERRUPTED = ("interrupted (Ctrl-C); files are only ever written whole, so run the command again to finish "
               "(a sharded run resumes where it stopped).")


def error_line(message: str) -> None:
    """Print ``instructlin: error: MESSAGE`` on stderr as one line, whatever the message held."""
    print(f"instructlin: error: {one_line(message)}", file=sys.stderr)


def run_command(command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run one command and return its exit code; every failure is one line on stderr, never a traceback.

    numpy's RuntimeWarnings (overflow, invalid value) are not shown while the command runs: results are
    checked for NaN and inf and refused in one line that names the row. The filter is process-wide while
    it holds, which a command (unlike a library call) may do.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            command(args)
    except KeyboardInterrupt:
        print(f"instructlin: {INTERRUPTED}", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        error_line(str(err))
        return 2
    except Exception as err:  # a bug: still one line, and the traceback on request
        if os.environ.get("INSTRUCTLIN_DEBUG"):
            raise
        print(f"instructlin: internal error: {type(err).__name__}: {err} (a bug: please report it; "
              "INSTRUCTLIN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0
