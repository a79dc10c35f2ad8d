"""`instructlin map` and map saving never mix, lose or overwrite data: outputs, inputs and folders stay whole."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap

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


# --- two runs into one output folder ---------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
HELD_CHILD = """
import sys, time
from pathlib import Path
import instructlin.shards.runs as shards

real = shards.map_file
def held(*args, **kwargs):  # the lock is taken: say so, then wait for the test's go before the first shard
    Path(sys.argv[4]).touch()
    while not Path(sys.argv[5]).exists():
        time.sleep(0.01)
    return real(*args, **kwargs)
shards.map_file = held
from instructlin.cli.commands import main
sys.exit(main(["map", "--map", sys.argv[1], "--input", sys.argv[2], "--output", sys.argv[3], "--quiet"]))
"""

LOCK_CASES = [
    Case("a second `instructlin map` (another map) into the folder a running one writes", "instructlin map",
         "refused in one line naming the running run (pid, host) and the lock file; the first run's outputs "
         "and manifest stay all its own", {}),
]


@pytest.mark.parametrize("case", params(LOCK_CASES))
def test_a_second_concurrent_run_into_one_folder_is_refused(case: Case, work: Path) -> None:



    from instructlin.shards.runs import MANIFEST, map_fingerprint

    _fitted(1).save(work / "map2")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started, go = work / "started", work / "go"
    first = subprocess.Popen([sys.executable, "-c", HELD_CHILD, str(work / "map"), str(work / "in"),
                              str(work / "out"), str(started), str(go)], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3000):
            if started.exists() or first.poll() is not None:
                break
            time.sleep(0.01)
        assert started.exists(), first.communicate()
        second = subprocess.run([sys.executable, "-m", "instructlin", "map", "--map", str(work / "map2"),
                                 "--input", str(work / "in"), "--output", str(work / "out"), "--quiet"],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        go.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stderr
    line = second.stderr.strip()
    assert len(line.splitlines()) == 1 and "Another instructlin run (pid " in line and str(first.pid) in line, line
    model = InstructionMap.load(work / "map")
    for shard in sorted((work / "in").glob("*.npy")):
        assert np.allclose(np.load(work / "out" / shard.name), model.transform(np.load(shard)), atol=1e-5)
    manifest = json.loads((work / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == map_fingerprint(work / "map")
    assert sorted(p.name for p in (work / "out").iterdir()) == [MANIFEST, "part-0.npy", "part-1.npy"]  # no lock


STALE_CASES = [
    Case("a lock left in the output folder by a killed run on this machine", "instructlin map / map_shards",
         "taken over with one warning naming the dead pid; the run completes and removes the lock",
         {"host": "here", "ok": True}),
    Case("a lock held by a run on another machine (shared storage)", "instructlin map / map_shards",
         "refused in one line naming that host and the lock file to remove if the run is gone",
         {"host": "other-node", "ok": False}),
]


@pytest.mark.parametrize("case", params(STALE_CASES))
def test_a_lock_of_a_dead_run_is_taken_over_and_a_foreign_one_refused(case: Case, work: Path, caplog) -> None:
    import socket

    from instructlin.errors import DataError
    from instructlin.shards.lock import LOCK_FILE
    from instructlin.shards.runs import map_shards

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname() if case.data["host"] == "here" else case.data["host"]
    (work / "out").mkdir()
    (work / "out" / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": host, "token": "x",
                                                      "started": "yesterday"}))
    if case.data["ok"]:
        assert map_shards(work / "map", work / "in", work / "out").mapped == ["part-0.npy", "part-1.npy"]
        assert f"pid {dead.pid}" in caplog.text and not (work / "out" / LOCK_FILE).exists()
    else:
        with pytest.raises(DataError, match=f"pid {dead.pid} on other-node.*remove .*{LOCK_FILE}"):
            map_shards(work / "map", work / "in", work / "out")
        assert sorted(p.name for p in (work / "out").iterdir()) == [LOCK_FILE]


RESUME_CASES = [
    Case("an output shard zeroed (or damaged) in place, same size, before a rerun", "instructlin map / map_shards",
         "the rerun finds its SHA-256 differs from the manifest's and maps that shard again; the others are "
         "skipped", {"damage": "zeroed"}),
    Case("a manifest entry without a checksum (written before checksums)", "instructlin map / map_shards",
         "that shard cannot be verified, so the rerun maps it again", {"damage": "no checksum"}),
]


@pytest.mark.parametrize("case", params(RESUME_CASES))
def test_a_resume_recomputes_a_shard_whose_checksum_does_not_match(case: Case, work: Path) -> None:
    from instructlin.shards.runs import MANIFEST, map_shards

    out = work / "out"
    map_shards(work / "map", work / "in", out)
    target = out / "part-1.npy"
    if case.data["damage"] == "zeroed":
        target.write_bytes(bytes(target.stat().st_size))
    else:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        del manifest["shards"]["part-1.npy"]["output_sha256"]
        (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    report = map_shards(work / "map", work / "in", out)
    assert report.mapped == ["part-1.npy"] and report.skipped == ["part-0.npy"]
    expected = InstructionMap.load(work / "map").transform(np.load(work / "in" / "part-1.npy"))
    assert np.allclose(np.load(target), expected, atol=1e-5)
    recorded = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["shards"]["part-1.npy"]
    assert recorded["output_sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()


# --- signals under --engine ray --------------------------------------------------------------------------------------

RAY_CASES = [
    Case("SIGTERM to `instructlin map --engine ray` while shards are being written", "instructlin map --engine ray",
         "one line, exit 143: Ray is shut down (no worker goes on writing), no temp file or lock is left, the "
         "manifest holds the shards that reached the driver, and the same command maps the rest", {}),
]


@pytest.mark.parametrize("case", params(RAY_CASES))
def test_sigterm_under_ray_ends_in_one_line_and_the_rerun_completes(case: Case, tmp_path: Path) -> None:
    import signal

    pytest.importorskip("ray")
    from instructlin.shards.runs import MANIFEST

    _fitted(0).save(tmp_path / "map")
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(2)
    for i in range(8):  # about 0.3 s of work each on one worker: the signal lands mid-run
        np.save(tmp_path / "in" / f"part-{i}.npy", rng.normal(size=(400_000, DIM)).astype(np.float32))
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "instructlin", "map", "--map", str(tmp_path / "map"), "--input",
            str(tmp_path / "in"), "--output", str(out), "--engine", "ray", "--concurrency", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while driver.poll() is None and not any(out.glob("*.npy")) and not any(out.glob(".instructlin-tmp-*")):
        time.sleep(0.05)
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 143, err
    assert len(err.strip().splitlines()) == 1 and "interrupted by SIGTERM" in err and "Traceback" not in err, err
    left = sorted(p.name for p in out.iterdir())
    assert not [name for name in left if not name.startswith("part-") and name != MANIFEST], left  # no temp, lock
    rerun = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    model = InstructionMap.load(tmp_path / "map")
    for shard in sorted((tmp_path / "in").glob("*.npy")):
        assert np.allclose(np.load(out / shard.name), model.transform(np.load(shard)), atol=1e-4)
    assert sorted(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["shards"]) == [
        f"part-{i}.npy" for i in range(8)]


def test_a_worker_whose_driver_died_writes_nothing(work: Path) -> None:
    """After ``kill -9`` of the driver, Ray's workers may live on: each shard they are handed is refused."""
    import socket

    from instructlin.shards.runs import ShardMapper, map_fingerprint

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    worker = ShardMapper(map_dir=str(work / "map"), fingerprint=map_fingerprint(work / "map"),
                         output=str(work / "out"), driver=(socket.gethostname(), dead.pid))
    (work / "out").mkdir()
    batch = worker({"shard": np.array([str(work / "in" / "part-0.npy")])})
    assert "gone" in str(batch["error"][0]) and list((work / "out").iterdir()) == []
