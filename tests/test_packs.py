"""Embedding packs: the shipped EmbeddingGemma-300m pack read as the embedding stage, and every way a pack
can be wrong (a changed file, other texts, a bad manifest) refused in one line that names the file."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from instructlin.errors import PackError
from instructlin.pipeline.experiment import DEFAULT_INSTRUCTIONS, ExperimentConfig, run_experiment
from instructlin.pipeline.specs import DataSpec, EmbeddingSpec, PackSpec
from instructlin.pipeline.stages import embed, evaluate, fit_map, split_rows, stored_sets
from instructlin.sources.cache import texts_digest
from instructlin.sources.datasets import load_demo, sample_per_class
from instructlin.sources.pack_writer import write_pack
from instructlin.sources.packs import DEMO_PACK_DIR, MANIFEST, read_pack

if not (DEMO_PACK_DIR / MANIFEST).exists():
    pytest.skip(f"no embedding pack at {DEMO_PACK_DIR} (a checkout ships data/teacher)", allow_module_level=True)

PAIRS = (("topic", DEFAULT_INSTRUCTIONS["topic"]), ("location", DEFAULT_INSTRUCTIONS["location"]))


def manifest() -> dict:
    return json.loads((DEMO_PACK_DIR / MANIFEST).read_text(encoding="utf-8"))


@pytest.fixture
def pack_copy(tmp_path) -> Path:
    """A copy of the shipped pack that a test may damage."""
    return Path(shutil.copytree(DEMO_PACK_DIR, tmp_path / "pack"))


def test_the_shipped_pack_reads_as_the_embedding_stage():
    pack = read_pack(DEMO_PACK_DIR)
    entries = manifest()["files"]
    assert pack.instructions() == tuple(f["instruction"] for f in entries if f["instruction"] is not None)
    assert len(pack.instructions()) >= 5 and pack.name == "EmbeddingGemma-300m" and pack.dim == 768
    assert pack.texts_sha256 == texts_digest(load_demo().texts)
    assert "EmbeddingGemma-300m, precomputed" in pack.describe()
    spec = EmbeddingSpec(DataSpec("demo"), PackSpec(str(DEMO_PACK_DIR)), PAIRS)
    found = embed(spec=spec, dataset=load_demo())  # no encoder
    assert found.pairs == PAIRS
    by_instruction = {f["instruction"]: f["file"] for f in entries}
    np.testing.assert_array_equal(found.base, np.load(DEMO_PACK_DIR / by_instruction[None]))
    for aspect, instruction in PAIRS:
        np.testing.assert_array_equal(found.instructed[aspect], np.load(DEMO_PACK_DIR / by_instruction[instruction]))
        assert not found.instructed[aspect].flags.writeable
    assert stored_sets(spec=spec, encoder=None, dataset=load_demo()) == {"base": True, "topic": True,
                                                                         "location": True}


def test_a_pack_gives_the_numbers_of_its_arrays_fed_by_hand():
    """run_experiment on the pack equals the stages on np.load's arrays (the teacher benchmark's way)."""
    from instructlin.pipeline.stages import Embeddings

    config = ExperimentConfig(data="demo", pack=str(DEMO_PACK_DIR), instructions=PAIRS[1:], n_kmeans_seeds=3,
                              measure_timing=True, timing_repeats=1)
    result = run_experiment(config)
    data = load_demo()
    by_instruction = {f["instruction"]: np.load(DEMO_PACK_DIR / f["file"]) for f in manifest()["files"]}
    embeddings = Embeddings(PAIRS[1:], by_instruction[None], {"location": by_instruction[PAIRS[1][1]]})
    plain = replace(config, pack=None)
    split = split_rows(spec=plain.split_spec(), dataset=data)
    fitted = fit_map(spec=plain.map_spec("location"), embeddings=embeddings, split=split)
    expected = evaluate(spec=plain.evaluation_spec("location"), dataset=data, embeddings=embeddings, split=split,
                        fitted=fitted)
    got = result.instruction("location")
    for label in data.aspects:
        assert got.scores[label].to_dict() == expected.scores[label].to_dict()
    assert got.scores["location"].instructed.mean > got.scores["location"].base.mean + 0.3  # Gemma follows it
    assert result.encoder_description.startswith("EmbeddingGemma-300m, precomputed")
    record = result.to_dict()
    seconds = manifest()["encode_seconds_per_text"]
    n_train, n_test = record["n_train"], record["n_test"]
    cost = record["marginal_speedup"]  # teacher pass on the train part (recorded) + the fit as it ran + map
    assert cost["reencode_s"] == pytest.approx(seconds * (n_train + n_test))
    assert cost["instructlin_s"] == pytest.approx(seconds * n_train + record["timings_s"]["fit"]
                                                  + record["timings_s"]["map"])
    assert 0 < record["timings_s"]["map"] < record["timings_s"]["fit"]


def test_cli_evaluate_reads_a_pack(tmp_path):
    from instructlin.cli.commands import main

    out = tmp_path / "pack.json"
    assert main(["evaluate", "--data", "demo", "--pack", str(DEMO_PACK_DIR), "--kmeans-seeds", "2", "--no-timing",
                 "--instruction", PAIRS[1][1], "--aspect", "location", "--quiet", "--output", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["encoder"].startswith("EmbeddingGemma-300m, precomputed") and record["dim"] == 768
    assert record["v_measure"]["instructed"]["mean"] > record["v_measure"]["base"]["mean"]


def test_a_changed_file_is_refused_naming_it(pack_copy):
    path = pack_copy / "location.npy"
    array = np.load(path)
    array[0, 0] += 1e-3  # one number changed: same shape, same dtype
    np.save(path, array)
    with pytest.raises(PackError, match=r"location\.npy: SHA-256 [0-9a-f]{12} is not the manifest's "
                                        r"46054da893d2.*restore it"):
        read_pack(pack_copy).load(PAIRS[1][1])
    read_pack(pack_copy).load(PAIRS[0][1])  # the other files still read


def test_other_texts_are_refused_with_the_fix():
    four = sample_per_class(load_demo(), 4, seed=42)
    spec = EmbeddingSpec(DataSpec("demo", n_per_class=4, seed=42), PackSpec(str(DEMO_PACK_DIR)), PAIRS)
    with pytest.raises(PackError, match=r"manifest\.json: the pack was made from other texts \(288 texts .*than "
                                        r"demo \(24 texts.*every row in file order"):
        embed(spec=spec, dataset=four)
    reordered = replace(load_demo(), texts=list(reversed(load_demo().texts)))
    with pytest.raises(PackError, match="made from other texts"):
        read_pack(DEMO_PACK_DIR).check_texts(reordered.texts, name="reversed")


def test_each_instruction_is_offered_for_the_labelling_its_manifest_names():
    pack, entries = read_pack(DEMO_PACK_DIR), manifest()["files"]
    for labelling in ("location", "topic"):
        assert pack.instructions_for(labelling) == tuple(f["instruction"] for f in entries
                                                         if f.get("labelling") == labelling)
    assert "Identify the location where the given news article happened" in pack.instructions_for("location")
    assert "Represent the given text" not in pack.instructions_for("topic")  # the control serves no labelling
    assert pack.instructions_for("sentiment") == ()


def test_a_missing_instruction_lists_what_the_pack_holds():
    with pytest.raises(PackError, match=r"has no instruction 'Identify the mood'; it holds: 'Identify the location"):
        read_pack(DEMO_PACK_DIR).load("Identify the mood")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m["files"][1].update(shape=[288, 512]), r"location\.npy has shape \[288, 512\].*every file must be"),
    (lambda m: m["files"][1].update(file="../base.npy"), r"must be a plain \.npy file name"),
    (lambda m: m["files"][1].update(instruction=None), "exactly one base array"),
    (lambda m: m.pop("texts"), r"field 'texts' is missing"),
    (lambda m: m["files"][1].update(labelling=""), r"location\.npy: 'labelling' must be a label column"),
    (lambda m: m["files"][1].update(sha256="0" * 64), r"location\.npy: SHA-256 46054da893d2 is not the manifest's "
                                                       "000000000000"),
])
def test_a_bad_manifest_is_refused_in_one_line(pack_copy, edit, message):
    found = manifest()
    edit(found)
    (pack_copy / MANIFEST).write_text(json.dumps(found), encoding="utf-8")
    with pytest.raises(PackError, match=message) as err:
        read_pack(pack_copy).load(PAIRS[1][1])
    assert "\n" not in str(err.value)


def test_no_pack_and_broken_json(tmp_path):
    with pytest.raises(PackError, match=r"No embedding pack at .*manifest\.json is missing"):
        read_pack(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(PackError, match=r"manifest\.json is not valid JSON"):
        read_pack(tmp_path)


def test_a_pickled_array_is_not_unpickled(pack_copy):
    path = pack_copy / "location.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    found = manifest()
    found["files"][1]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (pack_copy / MANIFEST).write_text(json.dumps(found), encoding="utf-8")
    with pytest.raises(PackError, match=r"location\.npy holds Python objects, which instructlin never unpickles"):
        read_pack(pack_copy).load(PAIRS[1][1])


def test_write_pack_round_trips_and_records_no_time(tmp_path):
    data = load_demo()
    base = np.load(DEMO_PACK_DIR / "base.npy")
    pack = write_pack(tmp_path / "mine", texts=data.texts, arrays={None: base, "Say where": base[::-1].copy()},
                      model="me/model", template="{instruction}: ", max_seq_length=64, corpus="demo")
    assert pack.instructions() == ("Say where",) and pack.seconds_per_text is None
    np.testing.assert_array_equal(pack.load("Say where"), base[::-1])
    pack.check_texts(data.texts, name="demo")
    with pytest.raises(PackError, match="records no encode time"):
        pack.encode_timing("encode_instructed", 10)


def test_evaluate_prints_a_line_for_every_instruction(tmp_path, capsys):
    """`evaluate` with two instructions ends with a summary of both, not only the first one's."""
    from instructlin.cli.commands import main

    out = tmp_path / "run.json"
    assert main(["evaluate", "--data", "demo", "--pack", str(DEMO_PACK_DIR), "--no-timing", "--quiet",
                 "--kmeans-seeds", "2", "--output", str(out),
                 "--aspect", "location", "--instruction", DEFAULT_INSTRUCTIONS["location"],
                 "--aspect", "topic", "--instruction", DEFAULT_INSTRUCTIONS["topic"]]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    record = json.loads(out.read_text(encoding="utf-8"))
    assert [line.split(":")[0] for line in lines[:-1]] == ["location", "topic"]
    for line, entry in zip(lines, record["per_instruction"], strict=False):
        own = entry["v_measure"][entry["aspect"]]
        assert f"mapped {own['mapped']['mean']:.3f}" in line and entry["map"] in line
        si = entry["stand_in"]
        assert f"recall@10 {si['recall10_base']:.2f} -> {si['recall10_mapped']:.2f}" in line
    assert lines[-1] == f"wrote {out}"


def test_run_experiment_progress_moves_after_every_step_and_closes():
    """The bar after encoding advances once per fit, score and timing, and ends full (none stays at 0 %)."""
    calls = []
    config = ExperimentConfig(data="demo", pack=str(DEMO_PACK_DIR), n_kmeans_seeds=2,
                              instructions=tuple(DEFAULT_INSTRUCTIONS.items()), timing_repeats=1)
    run_experiment(config, progress=lambda stage, done, total: calls.append((stage, done, total)))
    steps = [(done, total) for stage, done, total in calls if stage.startswith("fit, score")]
    assert [done for done, _ in steps] == list(range(7)) and {total for _, total in steps} == {6}
    finals = {}
    for stage, done, total in calls:
        finals[stage] = (done, total)
    assert all(done == total for done, total in finals.values()), finals
