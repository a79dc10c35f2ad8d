"""Server budgets: uploads that declare far more than they weigh are refused before decoding, and a bad
address bar falls back visibly. The bombs run in a server-like subprocess whose peak memory is watched."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import APP_ROOT as ROOT
from tests.conftest import start_page
from tests.reliability import Case, params
from tests.rendered import shown
from tests.test_app_security import SETTINGS, serve_plainly

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

#: One visitor may not push the server past this (issue 20).
SERVER_BUDGET_MB = 2048


@pytest.fixture(autouse=True)
def _served(tmp_path_factory, monkeypatch):
    serve_plainly(monkeypatch, tmp_path_factory.getbasetemp() / "app-cache")


def zero_vectors(path: Path, rows: int, dim: int) -> Path:
    """A Parquet file of ``rows`` x ``dim`` zeros: a few hundred KB that decode to rows x dim floats."""
    flat = pa.array(np.zeros(rows * dim, dtype=np.float32))
    column = pa.FixedSizeListArray.from_arrays(flat, dim)
    pq.write_table(pa.table({"id": pa.array(np.arange(rows)), "vector": column}), path, compression="zstd")
    return path


def repeated_text(path: Path, rows: int) -> Path:
    """A Parquet table of ``rows`` copies of one text (dictionary-encoded: a few hundred KB on disk)."""
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int8)),
                                          pa.array(["the same text, over and over again"]))
    label = pa.DictionaryArray.from_arrays(pa.array((np.arange(rows) % 2).astype(np.int8)), pa.array(["a", "b"]))
    pq.write_table(pa.table({"text": text, "cluster": label}), path, compression="zstd")
    return path


def declared_map(dims: tuple[int, int]) -> bytes:
    """A map .zip whose config.json declares ``dims`` (its weights are a few bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps({"n_features_in": dims[0], "n_features_out": dims[1]}))
        archive.writestr("model.safetensors", b"\0" * 64)
    return buffer.getvalue()


BOMB_CASES = [
    Case("a 0.3 MB Parquet of 100,000 x 2,048 zeros", "app Your vectors page, upload",
         "refused before decoding: the error gives rows x dimensions and the 25,000,000-number budget",
         {"page": "app_pages/6_Vectors.py", "says": ["204,800,000 numbers", "25,000,000"]}),
    Case("a 0.2 MB Parquet table of 2,000,000 rows of one repeated text", "app Data page, upload",
         "refused before decoding (the preview too): the error gives the rows and the 100,000-row budget",
         {"page": "app_pages/1_Data.py", "says": ["2,000,000 rows", "100,000"]}),
    Case("two valid 25 MB .npy files of 100,000 x 64 (every row instructed)", "app Your vectors page, upload",
         "fitted and scored within the budget: CV on at most 2,000 pairs, the solve in row blocks; no error",
         {"page": "app_pages/6_Vectors.py", "says": []}),
    Case("a map .zip declaring 16384 x 16384 on the pack's 768-d teacher", "app Train page, map upload",
         "refused before the weights are read: the error names both dimensions",
         {"page": "app_pages/3_Train.py", "says": ["16384 -> 16384", "768 -> 768"]}),
]

CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    from instructlin.timing import peak_rss_mb
    from tests.rendered import shown
    from tests.test_app_security import app
    page, path, key, name = sys.argv[1:5]
    at = app(page, embeddings="pack") if page.endswith("3_Train.py") else app(page)  # no encoder to load
    if page.endswith("1_Data.py"):
        at.radio(key="w:source").set_value("Upload a file").run()
    before = peak_rss_mb()
    body = open(path, "rb").read()
    if key == "v:base":  # the same file as both base and instructed: every row is a pair
        at.file_uploader(key="v:instructed").set_value((name, body, "application/octet-stream"))
    at.file_uploader(key=key).set_value((name, body, "application/octet-stream"))
    start = time.perf_counter()
    at.run(timeout=600)
    errors = [shown(e) for e in at.error]
    seconds = time.perf_counter() - start
    print(json.dumps({{"before": before, "peak": peak_rss_mb(), "errors": errors, "seconds": seconds,
                      "metrics": [m.label for m in at.metric], "exception": [str(e.value) for e in at.exception]}}))
""")


def run_bomb(page: str, path: Path, key: str, name: str) -> dict:
    """One bomb uploaded in a fresh interpreter (a server's process): its refusals and peak memory."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    done = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), page, str(path), key, name],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(page, {k: v for k, v in result.items() if k != "metrics"})
    return result


@pytest.mark.parametrize("case", params(BOMB_CASES))
def test_an_upload_bomb_is_refused_before_it_is_decoded(case, tmp_path):
    page = case.data["page"]
    valid = not case.data["says"]
    if page.endswith("6_Vectors.py") and valid:
        path, key = tmp_path / "valid.npy", "v:base"
        rng = np.random.default_rng(0)
        np.save(path, rng.standard_normal((100_000, 64), dtype=np.float32))
    elif page.endswith("6_Vectors.py"):
        path, key = zero_vectors(tmp_path / "zeros.parquet", 100_000, 2_048), "v:base"
    elif page.endswith("1_Data.py"):
        path, key = repeated_text(tmp_path / "same.parquet", 2_000_000), "w:upload"
    else:
        path, key = tmp_path / "map.zip", "map_upload"
        path.write_bytes(declared_map((16384, 16384)))
    result = run_bomb(page, path, key, path.name)
    assert not result["exception"], result["exception"]
    if valid:  # a real fit of 80,000 pairs within the server's budget (was 10 GB and 10+ minutes)
        assert not result["errors"] and "Cosine to the teacher" in result["metrics"], result
        assert result["peak"] < SERVER_BUDGET_MB and result["seconds"] < 300, result
        return
    assert path.stat().st_size < 1_000_000  # the file is small; what it declares is not
    assert any(all(text in error for text in case.data["says"]) for error in result["errors"]), result["errors"]
    grown = result["peak"] - result["before"]
    assert result["peak"] < SERVER_BUDGET_MB and grown < 200, result  # decoding would take GBs


URL_CASES = [
    Case("?n_per_class=-5 in the address bar", "app URL", "ignored with a warning naming the range; default used",
         {"key": "n_per_class", "value": "-5", "says": "outside 0 to 100,000"}),
    Case("?seed=-1 in the address bar", "app URL", "ignored with a warning naming the range; default used",
         {"key": "seed", "value": "-1", "says": "outside 0 to 2,147,483,647"}),
    Case("?seed=abc in the address bar", "app URL", "ignored with a warning: not a number; default used",
         {"key": "seed", "value": "abc", "says": "not a whole number"}),
    Case("?device=cuda on a server without CUDA", "app URL",
         "ignored with a warning (this server has no cuda); every page runs on the default device",
         {"key": "device", "value": "cuda", "says": "this server has no cuda"}),
]


@pytest.mark.parametrize("case", params(URL_CASES))
def test_a_bad_address_bar_value_falls_back_with_a_warning(case):
    if case.data["key"] == "device":
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    at = start_page("app_pages/1_Data.py", query={case.data["key"]: case.data["value"]})
    assert not at.exception, [e.value for e in at.exception]
    warnings = [shown(w) for w in at.warning]
    assert any(case.data["says"] in w for w in warnings), warnings
    default = {"n_per_class": 0, "seed": 42, "device": "auto"}[case.data["key"]]
    assert at.session_state[case.data["key"]] == default


def test_the_table_budget_counts_rows_without_parsing(tmp_path):
    """CSV rows are counted from line breaks (stopping early), Parquet rows from the footer."""
    from instructlin.errors import DataError
    from instructlin.io.budgets import check_table_size

    csv = tmp_path / "t.csv"
    csv.write_text("text,label\n" + "some text,a\n" * 50, encoding="utf-8")
    check_table_size(csv, max_rows=50)
    with pytest.raises(DataError, match="more than 49 rows"):
        check_table_size(csv, max_rows=49)
    check_table_size(repeated_text(tmp_path / "p.parquet", 1_000), max_rows=1_000)
    with pytest.raises(DataError, match="1,000 rows; this app reads at most 999"):
        check_table_size(tmp_path / "p.parquet", max_rows=999)
