"""Every CSV export is safe to open in a spreadsheet: formula-like text is quoted, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from instructlin.io.csv_export import FORMULA_STARTS, csv_bytes, frame_csv_bytes, safe_cell
from instructlin.pipeline import explore
from instructlin.vectors.runs import npy_zip

from .reliability import Case, params

#: Cells a spreadsheet would run (OWASP's CSV injection list), each with what the export must hold instead.
FORMULAS = {
    "=HYPERLINK(\"http://evil\",\"x\")": "'=HYPERLINK(\"http://evil\",\"x\")",
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}
#: Text a spreadsheet shows as it is: left alone.
PLAIN = ["news-004", "a = b", "-5", "+1.5e3", "007", "", "é", "a\r=1+1", "b\n@x"]  # CR/LF inside: quoted


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _explore_ids(texts: list[str]) -> list[str]:
    data = explore.npy_with_ids(np.zeros((len(texts), 2), dtype=np.float32), texts, stem="m")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [row[1] for row in _rows(archive.read("m.ids.csv"))[1:]]


def _vector_ids(texts: list[str]) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(npy_zip(np.asarray(texts), np.zeros((len(texts), 2))))) as archive:
        return [row[0] for row in _rows(archive.read("ids.csv"))[1:]]


def _explore_table(texts: list[str]) -> list[str]:
    table = explore.point_table(ids=[f"n{i}" for i in range(len(texts))], texts=texts,
                                labels={"topic": texts}, coords={})
    rows = _rows(explore.export_bytes(table, explore.ExportFormat.CSV))
    column = rows[0].index("text")
    assert [row[rows[0].index("topic")] for row in rows[1:]] == [row[column] for row in rows[1:]]
    return [row[column] for row in rows[1:]]


CASES = [
    Case("a text, label or id cell starting with = + - @ tab or CR", "app: Explore selection / 2-D coordinates (.csv)",
         "prefixed with ' (OWASP CSV-injection rule), so a spreadsheet shows it as text", {"export": _explore_table}),
    Case("an id starting with = + - @ tab or CR", "app: Train / Explore mapped embeddings (.npy + ids.csv)",
         "prefixed with ' (OWASP CSV-injection rule); plain numbers such as -5 stay as they are",
         {"export": _explore_ids}),
    Case("an id starting with = + - @ tab or CR", "app: Your vectors, mapped vectors (.npy + ids.csv)",
         "prefixed with ' (OWASP CSV-injection rule); plain numbers such as -5 stay as they are",
         {"export": _vector_ids}),
]


@pytest.mark.parametrize("case", params(CASES))
def test_csv_exports_quote_formulas_and_keep_plain_text(case: Case) -> None:
    texts = [*FORMULAS, *PLAIN]
    assert case.data["export"](texts) == [*FORMULAS.values(), *PLAIN]


def test_safe_cell_covers_every_owasp_start_and_leaves_numbers() -> None:
    assert all(safe_cell(start + "x") == "'" + start + "x" for start in FORMULA_STARTS)
    assert [safe_cell(v) for v in (-5, -1.5, 3, None, "-5", "-.5", "1e-3")] == [-5, -1.5, 3, None, "-5", "-.5", "1e-3"]
    assert _rows(csv_bytes(["=h"], [["-x", -2]])) == [["'=h"], ["'-x", "-2"]]


def test_frame_export_keeps_numeric_columns_numbers_and_escapes_names() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"=name": ["=1+1", "ok"], "x": [-1.5, 2.0], "n": [-3, 4], "flag": [True, False],
                          "label": pd.Categorical(["-a", "b"])})
    back = pd.read_csv(io.BytesIO(frame_csv_bytes(frame)))
    assert list(back.columns) == ["'=name", "x", "n", "flag", "label"]
    assert list(back["'=name"]) == ["'=1+1", "ok"] and list(back["label"]) == ["'-a", "b"]
    assert list(back["x"]) == [-1.5, 2.0] and list(back["n"]) == [-3, 4]  # negative numbers, not '-1.5
    assert back["x"].dtype.kind == "f" and back["n"].dtype.kind == "i"
    assert list(frame["=name"]) == ["=1+1", "ok"]  # the caller's frame is not changed
