"""Every CSV export is safe to open in a spreadsheet: formula-like text is quoted, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from instructlin.io.csv_export import FORMULA_STARTS, csv_bytes, frame_csv_bytes, safe_cell
from instructlin.io.vector_zip import vectors_zip
from instructlin.pipeline import explore

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


def _vector_ids(texts: list[str]) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(vectors_zip(np.zeros((len(texts), 2)), texts))) as archive:
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
    Case("an id starting with = + - @ tab or CR",
         "app: Train, Compare and Your vectors, mapped vectors (.npy + ids.csv)",
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


def test_vectors_zip_is_the_one_layout_and_refuses_a_wrong_id_count() -> None:
    vectors = np.arange(12, dtype=np.float64).reshape(4, 3)
    with zipfile.ZipFile(io.BytesIO(vectors_zip(vectors, ["n-4", "n-1", "x,y", "007"], stem="mapped-test-topic"))) as z:
        assert sorted(z.namelist()) == ["ids.csv", "mapped-test-topic.npy"]
        array = np.load(io.BytesIO(z.read("mapped-test-topic.npy")), allow_pickle=False)
        assert _rows(z.read("ids.csv")) == [["id"], ["n-4"], ["n-1"], ["x,y"], ["007"]]
    assert array.dtype == np.float32 and np.array_equal(array, vectors)
    with pytest.raises(ValueError, match=r"3 ids for an array of shape \(4, 3\)"):
        vectors_zip(vectors, ["a", "b", "c"])
