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
    (tmp_path / "model").mkdir()  # a transformer's folder: the same two file names, not a map
    (tmp_path / "model" / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "model" / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


MAP = ["map", "--map", "{dir}/map", "--quiet"]
FIT = ["fit", "--base", "{dir}/x.npy", "--instructed", "{dir}/x.npy", "--method", "ridge", "--quiet"]

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
    Case("fit --output .. (a folder above the working folder)", "instructlin fit",
         "refused before fitting: a map is never written over a folder that holds the current one",
         {"argv": [*FIT, "--output", ".."], "match": "holds the current folder"}),
    Case("fit --output a folder of other files (not a map)", "instructlin fit",
         "refused before fitting: names the folder and asks for a new or empty one; its files untouched",
         {"argv": [*FIT, "--output", "{dir}/notes"], "match": "not a saved map"}),
    Case("fit --output a model folder (config.json + model.safetensors, not a map)", "instructlin fit",
         "refused before fitting: its config.json is not a map's; nothing is overwritten",
         {"argv": [*FIT, "--output", "{dir}/model"], "match": "not a saved map"}),
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


SAVE_CASES = [
    Case("saving a map over a map folder that holds sub-folders and the user's files", "InstructionMap.save",
         "only config.json and model.safetensors are replaced (each through a temp file in the folder); the "
         "folder and its sub-folders are never re-created, moved or copied", {}),
]


@pytest.mark.parametrize("case", params(SAVE_CASES))
def test_saving_over_a_map_replaces_only_its_own_two_files(case: Case, tmp_path: Path) -> None:
    folder = _fitted(0).save(tmp_path / "map")
    (folder / "runs").mkdir()
    (folder / "runs" / "log.txt").write_text("log")
    (folder / "NOTES.md").write_text("notes")
    before = {p: os.stat(p).st_ino for p in (folder, folder / "runs", folder / "runs" / "log.txt",
                                             folder / "NOTES.md")}
    _fitted(1).save(folder)
    assert {p: os.stat(p).st_ino for p in before} == before  # the same folders and files, not copies
    assert sorted(p.name for p in folder.iterdir()) == ["NOTES.md", "config.json", "model.safetensors", "runs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map"]  # no temp folder beside it
    assert np.allclose(InstructionMap.load(folder).coef_, _fitted(1).coef_)


def test_a_map_whose_weights_do_not_match_its_config_is_refused(tmp_path: Path) -> None:
    """A reader between the two renames of a save sees new weights beside the old config: named, not mixed."""
    first, second = _fitted(0).save(tmp_path / "first"), _fitted(1).save(tmp_path / "second")
    (first / "model.safetensors").write_bytes((second / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="does not match"):
        InstructionMap.load(first)
