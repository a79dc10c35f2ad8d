"""A folder of shards mapped shard by shard: equal to mapping the whole array, resumable, never two maps mixed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.shards.runs import MANIFEST, list_shards, map_shards

PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A map fitted on the shipped EmbeddingGemma pack (58 location pairs), saved; and all 288 base rows."""
    base, location = np.load(PACK / "base.npy"), np.load(PACK / "location.npy")
    rows = np.random.default_rng(0).choice(len(base), 58, replace=False)
    model = InstructionMap(random_state=0).fit(base[rows], location[rows], X_unpaired=base)
    folder = tmp_path_factory.mktemp("map")
    model.save(folder)
    return folder, model, base


def write_shards(folder: Path, base: np.ndarray, n_shards: int = 4) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(np.array_split(base, n_shards)):
        paths.append(folder / f"part-{i:03d}.npy")
        np.save(paths[-1], part)
    return paths


def test_shards_map_to_the_same_rows_as_the_whole_array(fitted, tmp_path):
    map_dir, model, base = fitted
    write_shards(tmp_path / "in", base)
    report = map_shards(map_dir, tmp_path / "in", tmp_path / "out", chunk_size=50)
    assert report.mapped == [f"part-{i:03d}.npy" for i in range(4)] and report.rows == len(base)
    joined = np.concatenate([np.load(p) for p in sorted((tmp_path / "out").glob("part-*.npy"))])
    assert joined.shape == (len(base), model.coef_.shape[0])
    assert np.abs(joined - model.transform(base)).max() < 1e-5


def test_local_threads_write_what_one_thread_writes(fitted, tmp_path):
    map_dir, _, base = fitted
    write_shards(tmp_path / "in", base, n_shards=5)
    one = map_shards(map_dir, tmp_path / "in", tmp_path / "one", chunk_size=20, concurrency=1)
    three = map_shards(map_dir, tmp_path / "in", tmp_path / "three", chunk_size=20, concurrency=3)
    assert one.mapped == three.mapped == [f"part-{i:03d}.npy" for i in range(5)] and one.rows == three.rows
    for name in one.mapped:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes()
    assert json.loads((tmp_path / "three" / MANIFEST).read_text())["shards"].keys() == set(one.mapped)


def test_run_local_maps_shards_at_once_in_threads(tmp_path):
    """Two shards meet at a barrier that only two threads running together pass; one thread breaks it."""
    import threading

    from instructlin.shards.workers import ShardWorker, run_local

    class Meeting(ShardWorker):
        def __init__(self, output: Path, barrier: threading.Barrier) -> None:
            self.output, self.barrier = output, barrier

        def write(self, shard: Path, target: Path) -> int:
            self.barrier.wait()
            target.write_bytes(shard.read_bytes())
            return 1

    shards = write_shards(tmp_path / "in", np.zeros((4, 2)), n_shards=4)
    (tmp_path / "out").mkdir()
    outcomes = list(run_local(Meeting(tmp_path / "out", threading.Barrier(2, timeout=20)), shards, threads=2))
    assert sorted(o.name for o in outcomes) == [p.name for p in shards] and not any(o.error for o in outcomes)
    with pytest.raises(threading.BrokenBarrierError):
        list(run_local(Meeting(tmp_path / "out", threading.Barrier(2, timeout=0.5)), shards, threads=1))


def test_a_rerun_maps_only_the_deleted_shard_and_leaves_the_others_untouched(fitted, tmp_path):
    map_dir, _, base = fitted
    write_shards(tmp_path / "in", base)
    out = tmp_path / "out"
    map_shards(map_dir, tmp_path / "in", out)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("part-*.npy")}
    (out / "part-002.npy").unlink()
    report = map_shards(map_dir, tmp_path / "in", out)
    assert report.mapped == ["part-002.npy"] and len(report.skipped) == 3
    for name, (data, mtime) in before.items():
        path = out / name
        assert path.read_bytes() == data
        if name != "part-002.npy":
            assert path.stat().st_mtime_ns == mtime
    recorded = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(recorded["shards"]) == sorted(before) and recorded["shards"]["part-000.npy"]["rows"] == 72


def test_a_changed_input_shard_is_mapped_again(fitted, tmp_path):
    map_dir, model, base = fitted
    paths = write_shards(tmp_path / "in", base)
    map_shards(map_dir, tmp_path / "in", tmp_path / "out")
    np.save(paths[1], base[:10])
    os.utime(paths[1], ns=(1, 1))  # a new stamp even where the file system's clock is coarse
    report = map_shards(map_dir, tmp_path / "in", tmp_path / "out")
    assert report.mapped == ["part-001.npy"]
    assert np.abs(np.load(tmp_path / "out" / "part-001.npy") - model.transform(base[:10])).max() < 1e-5


def test_another_map_is_refused_rather_than_mixed(fitted, tmp_path):
    map_dir, _, base = fitted
    write_shards(tmp_path / "in", base)
    map_shards(map_dir, tmp_path / "in", tmp_path / "out")
    other = InstructionMap("ridge", prior="zero").fit(base[:40], base[:40] * 0.5)
    other.save(tmp_path / "other")
    with pytest.raises(DataError, match="another map"):
        map_shards(tmp_path / "other", tmp_path / "in", tmp_path / "out")


def test_a_corrupt_shard_is_named_and_every_good_shard_is_written(fitted, tmp_path):
    map_dir, _, base = fitted
    paths = write_shards(tmp_path / "in", base, n_shards=5)
    paths[2].write_bytes(paths[2].read_bytes()[:200])  # truncated
    paths[4].write_bytes(b"junk")
    with pytest.raises(DataError, match=r"Shard part-002.npy: .*truncated.*1 more bad shard\(s\): part-004.npy"):
        map_shards(map_dir, tmp_path / "in", tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [MANIFEST, "part-000.npy", "part-001.npy", "part-003.npy"]  # nothing for bad shards, no temp
    recorded = json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))["shards"]
    assert sorted(recorded) == ["part-000.npy", "part-001.npy", "part-003.npy"]


def test_shard_lists_are_checked(tmp_path):
    with pytest.raises(DataError, match="No .npy or .parquet shards"):
        list_shards(tmp_path)
    np.save(tmp_path / "a.npy", np.zeros((2, 3), np.float32))
    (tmp_path / "b.parquet").write_bytes(b"x")
    with pytest.raises(DataError, match="mixes"):
        list_shards(tmp_path)
    assert [p.name for p in list_shards(str(tmp_path / "*.npy"))] == ["a.npy"]


def test_parquet_shards_keep_their_ids_and_row_order(fitted, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    map_dir, model, base = fitted
    (tmp_path / "in").mkdir()
    ids = np.arange(len(base))[::-1] * 7  # ids that are not row numbers
    for i, part in enumerate(np.array_split(np.arange(len(base)), 3)):
        table = pa.table({"id": ids[part], "embedding": pa.array(list(base[part]), type=pa.list_(pa.float32()))})
        pq.write_table(table, tmp_path / "in" / f"part-{i}.parquet")
    map_shards(map_dir, tmp_path / "in", tmp_path / "out")
    tables = [pq.read_table(tmp_path / "out" / f"part-{i}.parquet") for i in range(3)]
    got_ids = np.concatenate([t.column("id").to_numpy() for t in tables])
    got = np.concatenate([np.stack(t.column("embedding").to_numpy(zero_copy_only=False)) for t in tables])
    assert np.array_equal(got_ids, ids)
    assert np.abs(got - model.transform(base)).max() < 1e-5


def test_the_cli_maps_a_folder_of_shards_and_resumes(fitted, tmp_path, capsys):
    from instructlin.cli.commands import main

    map_dir, model, base = fitted
    paths = write_shards(tmp_path / "in", base, n_shards=3)
    argv = ["map", "--map", str(map_dir), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert main(argv) == 0
    assert "mapped 288 rows in 3 shards" in capsys.readouterr().out
    assert np.abs(np.load(tmp_path / "out" / "part-001.npy") - model.transform(np.load(paths[1]))).max() < 1e-5
    (tmp_path / "out" / "part-000.npy").unlink()
    assert main(argv) == 0
    rerun = capsys.readouterr().out
    assert "mapped 96 rows in 1 shards to" in rerun and "2 already complete, skipped" in rerun
    paths[2].write_bytes(b"not an array")
    (tmp_path / "out" / "part-002.npy").unlink()
    assert main([*argv[:4], str(tmp_path / "in" / "part-*.npy"), *argv[5:]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "part-002.npy" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "part-002.npy").exists()
