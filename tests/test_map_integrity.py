"""`instructlin map` and map saving never mix, lose or overwrite data: outputs, inputs and folders stay whole."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from instructlin.cli import main
from instructlin.mapping import InstructionMap

from .reliability import Case, params

DIM = 8


def _fitted(seed: int = 0) -> InstructionMap:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, DIM)).astype(np.float32)
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X * (seed + 1) + 1.0)


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """A map, one .npy, shards in in/ and in a/ and b/ (same name), a notes folder; cwd is work/."""
    _fitted(0).save(tmp_path / "map")
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.normal(size=(30, DIM)).astype(np.float32))
    os.link(tmp_path / "x.npy", tmp_path / "x-link.npy")
    for folder in ("in", "a", "b"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            np.save(tmp_path / folder / f"part-{i}.npy", rng.normal(size=(10, DIM)).astype(np.float32))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


MAP = ["map", "--map", "{dir}/map", "--quiet"]

REFUSED_CASES = [
    Case("--output equal to --input (one .npy)", "instructlin map",
         "refused before any work: the output would replace the input; the input is untouched",
         {"argv": [*MAP, "--input", "{dir}/x.npy", "--output", "{dir}/x.npy"], "match": "is the input"}),
    Case("--output the same .npy by another path (work/../x.npy)", "instructlin map",
         "refused before any work: the output would replace the input; the input is untouched",
         {"argv": [*MAP, "--input", "{dir}/x.npy", "--output", "{dir}/work/../x.npy"], "match": "is the input"}),
    Case("--output a hard link of --input", "instructlin map",
         "refused before any work: the output would replace the input; the input is untouched",
         {"argv": [*MAP, "--input", "{dir}/x.npy", "--output", "{dir}/x-link.npy"], "match": "is the input"}),
    Case("--output one of the input shards", "instructlin map",
         "refused before any work: the output folder is a file (an input shard); inputs untouched",
         {"argv": [*MAP, "--input", "{dir}/in/*.npy", "--output", "{dir}/in/part-0.npy"], "match": "is a file"}),
    Case("--output the folder of the input shards", "instructlin map",
         "refused before any work: the output folder holds the inputs",
         {"argv": [*MAP, "--input", "{dir}/in", "--output", "{dir}/in"], "match": "holds the input"}),
    Case("a glob matching a/part-0.npy and b/part-0.npy", "instructlin map",
         "refused before any work: both inputs would write one output file; the line names both",
         {"argv": [*MAP, "--input", "{dir}/[ab]/part-*.npy", "--output", "{dir}/out"],
          "match": r"a/part-0\.npy and .*b/part-0\.npy"}),
]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", params(REFUSED_CASES))
def test_outputs_that_would_overwrite_or_mix_are_refused_in_one_line(case: Case, work: Path, capsys) -> None:
    before = _tree(work)
    argv = [arg.replace("{dir}", str(work)) for arg in case.data["argv"]]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("instructlin: error: ") and len(err.splitlines()) == 1, err
    assert re.search(case.data["match"], err), err
    assert _tree(work) == before
