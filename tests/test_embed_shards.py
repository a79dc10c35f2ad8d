"""Parquet text shards encoded shard by shard (single process): ids and order kept, provenance recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from instructlin.errors import DataError
from instructlin.io.npy_files import PARQUET_ENCODER_KEY
from instructlin.shards.embed import PROVENANCE_KEY, embed_shards

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")

DEMO = Path(__file__).resolve().parents[1] / "data" / "news_demo.csv"
INSTRUCTION = "Where did the news happen?"


def text_shards(folder: Path, n_texts: int = 36, n_shards: int = 3) -> pd.DataFrame:
    """The demo corpus's first texts as Parquet shards with their string ids; returns the rows used."""
    frame = pd.read_csv(DEMO).head(n_texts)[["id", "text"]]
    folder.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), n_shards)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False), folder / f"part-{i}.parquet")
    return frame


def read_vectors(folder: Path) -> tuple[list[str], np.ndarray]:
    tables = [t for t in (pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))) if t.num_rows]
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    return ids, np.concatenate([np.stack(t.column("embedding").to_numpy(zero_copy_only=False)) for t in tables])


def test_shards_hold_what_the_encoder_gives_with_ids_and_provenance(minilm, tmp_path):
    frame = text_shards(tmp_path / "texts")
    report = embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="minilm", instruction=INSTRUCTION,
                          device="cpu", batch_size=8)
    assert report.rows == len(frame) and report.mapped == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    ids, vectors = read_vectors(tmp_path / "vectors")
    assert ids == frame["id"].tolist()
    expected = minilm.encode(frame["text"].tolist(), instruction=INSTRUCTION, batch_size=8)
    assert np.abs(vectors - expected).max() < 1e-5
    base = minilm.encode(frame["text"].tolist(), batch_size=8)
    assert np.abs(vectors - base).max() > 1e-3  # the instruction was applied
    metadata = pq.read_schema(tmp_path / "vectors" / "part-1.parquet").metadata
    provenance = json.loads(metadata[PROVENANCE_KEY])
    assert metadata[PARQUET_ENCODER_KEY].decode() == minilm.model_id == provenance["encoder"]
    assert provenance["instruction"] == INSTRUCTION and provenance["template"] == minilm.template
    assert provenance["prompt"] == minilm.format_prompt(INSTRUCTION) and provenance["dim"] == vectors.shape[1]


def test_another_instruction_is_refused_and_a_rerun_resumes(minilm, tmp_path):
    text_shards(tmp_path / "texts", n_texts=12)
    embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="minilm", device="cpu")
    with pytest.raises(DataError, match="another encoder and instruction"):
        embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="minilm", instruction=INSTRUCTION,
                     device="cpu")
    (tmp_path / "vectors" / "part-2.parquet").unlink()
    report = embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="minilm", device="cpu")
    assert report.mapped == ["part-2.parquet"] and report.skipped == ["part-0.parquet", "part-1.parquet"]


def test_bad_text_shards_are_named_and_the_good_ones_written(minilm, tmp_path):
    frame = text_shards(tmp_path / "texts", n_texts=12)
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["fine", None]}), tmp_path / "texts" / "part-3.parquet")
    pq.write_table(pa.table({"id": ["c"], "body": ["no text column"]}), tmp_path / "texts" / "part-4.parquet")
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
                   tmp_path / "texts" / "part-5.parquet")
    with pytest.raises(DataError, match=r"Shard part-3.parquet: part-3.parquet row 1 has no text.*part-4.parquet"):
        embed_shards(tmp_path / "texts", tmp_path / "vectors", encoder="minilm", device="cpu")
    written = sorted(p.name for p in (tmp_path / "vectors").glob("*.parquet"))
    assert written == ["part-0.parquet", "part-1.parquet", "part-2.parquet", "part-5.parquet"]
    empty = pq.read_table(tmp_path / "vectors" / "part-5.parquet")
    assert empty.num_rows == 0 and empty.column_names == ["id", "embedding"]
    assert read_vectors(tmp_path / "vectors")[0] == frame["id"].tolist()


def test_map_refuses_vector_shards_of_another_encoder(minilm, tmp_path, capsys):
    from instructlin.cli.commands import main
    from instructlin.core.mapping import InstructionMap

    text_shards(tmp_path / "texts", n_texts=12)
    assert main(["embed", "--data", str(tmp_path / "texts"), "--output", str(tmp_path / "vectors"),
                 "--encoder", "minilm", "--device", "cpu", "--quiet"]) == 0
    assert "encoded 12 texts in 3 shards" in capsys.readouterr().out
    _, vectors = read_vectors(tmp_path / "vectors")
    model = InstructionMap("ridge").fit(vectors, vectors, metadata={"encoder": "another/model"})
    model.save(tmp_path / "map")
    assert main(["map", "--map", str(tmp_path / "map"), "--input", str(tmp_path / "vectors"),
                 "--output", str(tmp_path / "mapped")]) == 2
    assert "fitted for encoder 'another/model'" in capsys.readouterr().err
