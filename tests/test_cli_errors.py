"""Malformed inputs to the CLI: each gives exit 2, one line on stderr, no traceback and no new file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap

from .reliability import Case, params

DIM = 16


@pytest.fixture
def work(tmp_path: Path) -> dict[str, str]:
    """A folder with a small fitted map, paired arrays, a CSV with bad label columns, and odd files."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, DIM)).astype(np.float32)
    Y = X @ rng.normal(size=(DIM, DIM)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    np.save(tmp_path / "y_short.npy", Y[:30])
    np.save(tmp_path / "y_nan.npy", np.where(np.arange(60)[:, None] == 3, np.nan, Y))
    np.save(tmp_path / "x_1d.npy", X[0])
    np.save(tmp_path / "x_wide.npy", rng.normal(size=(5, DIM + 1)).astype(np.float32))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    (tmp_path / "garbage.npy").write_bytes(b"this is not numpy\n" * 20)
    InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, Y, metadata={"encoder": "org/model-a"}).save(
        tmp_path / "map")
    np.save(tmp_path / "x_b.npy", X)
    (tmp_path / "x_b.npy.json").write_text(json.dumps({"encoder": "org/model-b"}))
    pd.DataFrame({"text": [f"text {i}" for i in range(40)], "float": np.arange(40) * 0.37,
                  "unique": [f"u{i}" for i in range(40)], "ok": ["a", "b"] * 20}).to_csv(
        tmp_path / "t.csv", index=False)
    pd.DataFrame({"text": ["hello world"] * 10}).to_csv(tmp_path / "text_only.csv", index=False)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "a_file").write_text("not a folder")
    return {"dir": str(tmp_path), "map": str(tmp_path / "map"), "x": str(tmp_path / "x.npy"),
            "y": str(tmp_path / "y.npy"), "out": str(tmp_path / "out")}


def _break_map(folder: Path, how: str) -> None:
    """Damage a saved map in one named way."""
    weights, config_path = folder / "model.safetensors", folder / "config.json"
    config = json.loads(config_path.read_text())
    if how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "empty weights":
        weights.write_bytes(b"")
    elif how == "garbage weights":
        weights.write_bytes(b"\xff" * 300)
    elif how == "invalid JSON":
        config_path.write_text("{not json")
    elif how == "NaN weights":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(str(weights))
        tensors["coef"][0, 0] = np.nan
        save_file(tensors, str(weights))
    elif how == "intercept of the wrong shape":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(str(weights))
        tensors["intercept"] = tensors["intercept"][:3]
        save_file(tensors, str(weights))
    else:  # an edit of the JSON
        if how == "extra parameter":
            config["params"]["colour"] = "blue"
        elif how == "no params":
            del config["params"]
        elif how == "params as a list":
            config["params"] = [1, 2]
        elif how == "chunk_size -1":
            config["params"]["chunk_size"] = -1
        elif how == "alpha 'lots'":
            config["params"]["alpha"] = "lots"
        elif how == "config is a list":
            config = [config]
        config_path.write_text(json.dumps(config))


MAP = ["map", "--map", "{map}", "--input", "{x}", "--output", "{out}.npy", "--quiet"]
FIT = ["fit", "--output", "{out}", "--quiet"]
EVAL = ["evaluate", "--output", "{out}.json", "--quiet", "--encoder", "minilm", "--no-timing"]
EMBED = ["embed", "--output", "{out}.npy", "--quiet", "--encoder", "minilm"]

FLAG_CASES = [
    Case("--chunk-size -1", "instructlin map", "refused: names the flag and its range",
         {"argv": [*MAP, "--chunk-size", "-1"]}),
    Case("--chunk-size 0", "instructlin map", "refused: names the flag and its range",
         {"argv": [*MAP, "--chunk-size", "0"]}),
    Case("--kmeans-seeds 0", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--kmeans-seeds", "0"]}),
    Case("--batch-size 0", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--batch-size", "0"]}),
    Case("--max-seq-length 0", "instructlin embed", "refused: names the flag and its range",
         {"argv": [*EMBED, "--max-seq-length", "0"]}),
    Case("--splits 0", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--splits", "0"]}),
    Case("--timing-repeats 0", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--timing-repeats", "0"]}),
    Case("--n-per-class 0", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--n-per-class", "0"]}),
    Case("--seed -1", "instructlin evaluate", "refused: names the flag and its range",
         {"argv": [*EVAL, "--seed", "-1"]}),
    Case("--train-size 1.5", "instructlin evaluate", "refused: says a count or a fraction in (0, 1)",
         {"argv": [*EVAL, "--train-size", "1.5"]}),
    Case("--batch-size ten", "instructlin evaluate", "refused in one line (argparse's usage block is not printed)",
         {"argv": [*EVAL, "--batch-size", "ten"]}),
    Case("--method best", "instructlin evaluate", "refused in one line listing the choices",
         {"argv": [*EVAL, "--method", "best"]}),
    Case("--instruction-template 'Q: ' (no {instruction})", "instructlin embed",
         "refused before the model loads: the template needs {instruction}",
         {"argv": [*EMBED, "--instruction", "x", "--instruction-template", "Q: "]}),
    Case("--instruction-template '{0}'", "instructlin embed", "refused: only {instruction} may be a placeholder",
         {"argv": [*EMBED, "--instruction", "x", "--instruction-template", "{0} {instruction}"]}),
    Case("--instruction-template '{instruction'", "instructlin embed", "refused: the template does not format",
         {"argv": [*EMBED, "--instruction", "x", "--instruction-template", "{instruction"]}),
]

DATA_CASES = [
    Case("a float label column", "instructlin evaluate", "refused: the column looks continuous, named",
         {"argv": [*EVAL, "--data", "{dir}/t.csv", "--label-column", "float"]}),
    Case("a label column with every value unique", "instructlin evaluate",
         "refused: more than half as many classes as rows, column named",
         {"argv": [*EVAL, "--data", "{dir}/t.csv", "--label-column", "unique"]}),
    Case("a text column alone, with --instruction", "instructlin evaluate",
         "refused: the file needs a label column to score against",
         {"argv": [*EVAL, "--data", "{dir}/text_only.csv", "--instruction", "topic?"]}),
    Case("a missing data file", "instructlin evaluate", "refused: names the path",
         {"argv": [*EVAL, "--data", "{dir}/nope.csv"]}),
    Case("an empty (0-byte) CSV", "instructlin evaluate", "refused: the file is empty",
         {"argv": [*EVAL, "--data", "{dir}/empty.csv"]}),
    Case("--text-column that is not there", "instructlin evaluate", "refused: lists the columns found",
         {"argv": [*EVAL, "--data", "{dir}/t.csv", "--text-column", "body"]}),
]

ARRAY_CASES = [
    Case("a CSV passed as --base", "instructlin fit", "refused: not a .npy file",
         {"argv": [*FIT, "--base", "{dir}/t.csv", "--instructed", "{y}"]}),
    Case("a text file named .npy", "instructlin fit", "refused: not a .npy file",
         {"argv": [*FIT, "--base", "{dir}/garbage.npy", "--instructed", "{y}"]}),
    Case("an object (pickled) .npy", "instructlin fit", "refused: object arrays are never unpickled",
         {"argv": [*FIT, "--base", "{dir}/objects.npy", "--instructed", "{y}"]}),
    Case("NaN in --instructed", "instructlin fit", "refused: instructlin's own line on non-finite values",
         {"argv": [*FIT, "--base", "{x}", "--instructed", "{dir}/y_nan.npy"]}),
    Case("--base and --instructed with different row counts", "instructlin fit", "refused: both shapes named",
         {"argv": [*FIT, "--base", "{x}", "--instructed", "{dir}/y_short.npy"]}),
    Case("a 1-D --base", "instructlin fit", "refused: both shapes named",
         {"argv": [*FIT, "--base", "{dir}/x_1d.npy", "--instructed", "{y}"]}),
    Case("a missing --base file", "instructlin fit", "refused: names the path",
         {"argv": [*FIT, "--base", "{dir}/nope.npy", "--instructed", "{y}"]}),
    Case("--base without --instructed", "instructlin fit", "refused: pass both or neither",
         {"argv": [*FIT, "--base", "{x}"]}),
    Case("--output that is an existing file", "instructlin fit", "refused: the output must be a folder",
         {"argv": ["fit", "--output", "{dir}/a_file", "--quiet", "--base", "{x}", "--instructed", "{y}"]}),
    Case("--input of another dimension", "instructlin map", "refused: both dimensions named",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/x_wide.npy", "--output", "{out}.npy"]}),
    Case("--input with NaN rows", "instructlin map", "refused: instructlin's own line on non-finite values",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/y_nan.npy", "--output", "{out}.npy"]}),
    Case("a CSV as --input", "instructlin map", "refused: use .npy or .parquet",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/t.csv", "--output", "{out}.csv"]}),
    Case("a text file named .npy as --input", "instructlin map", "refused: not a .npy file",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/garbage.npy", "--output", "{out}.npy"]}),
    Case("--input whose .npy.json names another encoder", "instructlin map",
         "refused: names the map's encoder and the input's",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/x_b.npy", "--output", "{out}.npy"]}),
    Case("--encoder-id that disagrees with the input's metadata", "instructlin map",
         "refused: names both encoders",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/x_b.npy", "--output", "{out}.npy",
                   "--encoder-id", "org/model-a"]}),
    Case("--encoder-id that disagrees with --base's metadata", "instructlin fit", "refused: names both encoders",
         {"argv": [*FIT, "--base", "{dir}/x_b.npy", "--instructed", "{y}", "--encoder-id", "org/model-a"]}),
    Case("--map folder that does not exist", "instructlin map", "refused: not a saved map",
         {"argv": ["map", "--map", "{dir}/nomap", "--input", "{x}", "--output", "{out}.npy"]}),
]

SHARD_CASES = [
    Case("--engine ray with one file as --input", "instructlin map",
         "refused before Ray starts: the engine maps a folder or glob of shards",
         {"argv": [*MAP, "--engine", "ray"]}),
    Case("--address without --engine ray", "instructlin map", "refused: --address needs --engine ray",
         {"argv": [*MAP, "--address", "ray://head:10001"]}),
    Case("--concurrency 0", "instructlin map", "refused: names the flag and its range",
         {"argv": [*MAP, "--engine", "ray", "--concurrency", "0"]}),
    Case("a glob that matches no shard", "instructlin map", "refused: no .npy or .parquet shards at the glob",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/nomatch-*.npy", "--output", "{out}"]}),
    Case("--engine ray with a CSV as --data", "instructlin embed",
         "refused before Ray starts: the engine encodes Parquet text shards",
         {"argv": [*EMBED, "--data", "{dir}/t.csv", "--engine", "ray"]}),
    Case("a glob of CSV files as --data", "instructlin embed", "refused: no .parquet text shards at the glob",
         {"argv": [*EMBED, "--data", "{dir}/*.csv"]}),
]

MAP_CASES = [
    Case(f"a saved map with {how}", "instructlin map / InstructionMap.load", "refused: names the file and the fix",
         {"argv": MAP, "break": how})
    for how in ("truncated weights", "empty weights", "garbage weights", "invalid JSON", "NaN weights",
                "intercept of the wrong shape", "extra parameter", "no params", "params as a list",
                "chunk_size -1", "alpha 'lots'", "config is a list")
]

CASES = FLAG_CASES + DATA_CASES + ARRAY_CASES + SHARD_CASES + MAP_CASES


def _listing(folder: str) -> set[str]:
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*") if "cache" not in p.parts}


@pytest.mark.parametrize("case", params(CASES))
def test_malformed_input_gives_one_line_and_exit_2(case: Case, work: dict[str, str], capsys) -> None:
    if "break" in case.data:
        _break_map(Path(work["map"]), case.data["break"])
    before = _listing(work["dir"])
    argv = list(case.data["argv"])
    for key, value in work.items():  # fill {dir}, {map}, ...; other braces (templates) stay as typed
        argv = [arg.replace("{" + key + "}", value) for arg in argv]
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(argv))
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("instructlin: error: "), err
    assert _listing(work["dir"]) == before


def test_cli_fuzz_covers_at_least_30_inputs() -> None:
    assert len(CASES) >= 30


def test_fit_records_the_encoder_and_map_accepts_its_own(work: dict[str, str], capsys) -> None:
    out = work["out"]
    assert main(["fit", "--base", f"{work['dir']}/x_b.npy", "--instructed", work["y"], "--output", out,
                 "--quiet", "--method", "ridge"]) == 0
    assert InstructionMap.load(out).metadata_["encoder"] == "org/model-b"  # taken from the sidecar
    assert main(["map", "--map", out, "--input", f"{work['dir']}/x_b.npy", "--output", f"{out}.npy",
                 "--quiet"]) == 0
    assert np.load(f"{out}.npy").shape == (60, DIM)


def test_long_texts_and_meaningless_scores_give_n_a_not_a_crash(tmp_path, capsys) -> None:
    words = np.random.default_rng(0).choice(["alpha", "beta", "gamma", "delta", "kappa"], size=(12, 20_000))
    texts = [" ".join(row)[:100_000] for row in words]
    pd.DataFrame({"text": texts, "label": list("ab" * 6)}).to_csv(tmp_path / "long.csv", index=False)
    argv = ["evaluate", "--data", str(tmp_path / "long.csv"), "--label-column", "label", "--instruction",
            "Identify the topic", "--encoder", "minilm", "--output", str(tmp_path / "r.json"), "--quiet",
            "--no-timing", "--train-size", "4", "--splits", "2"]
    assert main(argv) == 0, capsys.readouterr().err
    record = json.loads((tmp_path / "r.json").read_text())
    line = capsys.readouterr().out.strip()
    v = record["v_measure"]["instructed"]["mean"]
    assert (record["retention"] is None) == (v < 0.05)
    assert ("retention n/a" in line) == (record["retention"] is None)
