"""CSV a spreadsheet opens safely: text it would run as a formula gets a leading quote (CWE-1236).

OWASP's rule for CSV injection: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with a single quote, so Excel, LibreOffice and Sheets show it as text instead of
evaluating it. Only text is escaped: numbers (negative ones too) stay numbers, and so does text that is
nothing but a number (``-5``, ``+1.5e3``: a spreadsheet reads it as that number, never as a formula).
Text cells are also always quoted, so a carriage return or tab inside one cannot start a new cell or row
that a spreadsheet would read as a formula.
Every CSV instructlin exports goes through :func:`csv_bytes` or :func:`frame_csv_bytes`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMULA_STARTS", "csv_bytes", "frame_csv_bytes", "safe_cell"]

#: First characters that make a spreadsheet evaluate a cell (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` where it is text a spreadsheet would run as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV of ``header`` and ``rows``; text cells quoted and passed through :func:`safe_cell`."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return text.getvalue().encode("utf-8")


def frame_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as UTF-8 CSV without its index; text cells and column names quoted and escaped, numbers kept."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    safe = frame.copy()
    for index in range(safe.shape[1]):  # by position: column names may repeat
        column = safe.iloc[:, index]
        if not (is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype)):
            safe.isetitem(index, column.astype(object).map(safe_cell))
    safe.columns = [safe_cell(str(name)) for name in safe.columns]
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8")
