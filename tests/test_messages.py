"""Values beyond float32, damaged files and odd input: one line naming the problem and the fix, never inf
written with exit 0, never an "internal error"."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from instructlin.cli.commands import main
from instructlin.core.mapping import InstructionMap

from .reliability import Case, params

DIM = 8
BIG = 3e38  # finite in float32, but any sum of a few such values overflows it


@pytest.fixture
def work(tmp_path: Path) -> dict[str, str]:
    """A fitted map and .npy / Parquet inputs of ordinary and of extreme scale."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, DIM)).astype(np.float32)
    Y = X @ rng.normal(size=(DIM, DIM)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    np.save(tmp_path / "x_big32.npy", np.where(np.arange(40)[:, None] == 5, np.float32(BIG), X))
    np.save(tmp_path / "x_big64.npy", np.where(np.arange(40)[:, None] == 7, 1e300, X.astype(np.float64)))
    np.save(tmp_path / "y_big64.npy", Y.astype(np.float64) * 1e300)
    InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, Y).save(tmp_path / "map")
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    big = np.where(np.arange(40)[:, None] == 3, np.float32(BIG), X).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(big.reshape(-1)), DIM)
    pq.write_table(pa.table({"id": [f"t{i}" for i in range(40)], "embedding": column}), tmp_path / "big.parquet")
    return {"dir": str(tmp_path), "map": str(tmp_path / "map"), "x": str(tmp_path / "x.npy"),
            "y": str(tmp_path / "y.npy"), "out": str(tmp_path / "out")}


def _fill(argv: list[str], work: dict[str, str]) -> list[str]:
    for key, value in work.items():
        argv = [arg.replace("{" + key + "}", value) for arg in argv]
    return argv


def _listing(folder: str) -> set[str]:
    return {str(p.relative_to(folder)) for p in Path(folder).rglob("*") if "cache" not in p.parts}


def _one_line_error(argv: list[str], work: dict[str, str], capsys, code: int = 2) -> str:
    """Run the CLI; assert the exit code, one line on stderr without a traceback, and no new file."""
    before = _listing(work["dir"])
    with pytest.raises(SystemExit) as exited:
        try:
            raise SystemExit(main(_fill(argv, work)))
        except KeyboardInterrupt:
            pytest.fail("KeyboardInterrupt escaped main")
    err = capsys.readouterr().err.strip()
    assert exited.value.code == code, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert _listing(work["dir"]) == before
    return err


def _weights(folder: Path, change) -> None:
    """Rewrite a saved map's weights through ``change(dict of numpy tensors)``, and its config's checksum
    with them (as if saved so), so only the weights' values are wrong."""
    from safetensors.numpy import load_file, save_file

    from instructlin.core.map_io import file_sha256

    tensors = load_file(str(folder / "model.safetensors"))
    save_file(change(tensors), str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["weights_sha256"] = file_sha256(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


MAP = ["map", "--map", "{map}", "--output", "{out}.npy", "--quiet", "--input"]

OVERFLOW_CASES = [
    Case("float32 input whose mapped values overflow float32", "instructlin map (.npy)",
         "refused: names the row and says to scale (L2-normalise) the embeddings; nothing written",
         {"argv": [*MAP, "{dir}/x_big32.npy"], "match": r"x_big32.npy row 5 maps to values beyond float32's range"}),
    Case("float64 input beyond float32's range (1e300)", "instructlin map (.npy)",
         "refused: names the row and says to scale the embeddings (not called NaN); no numpy warning",
         {"argv": [*MAP, "{dir}/x_big64.npy"], "match": r"x_big64.npy row 7 maps to values beyond float32's range"}),
    Case("Parquet input whose mapped values overflow float32", "instructlin map (.parquet)",
         "refused: names the row and says to scale the embeddings; nothing written",
         {"argv": ["map", "--map", "{map}", "--input", "{dir}/big.parquet", "--output", "{out}.parquet", "--quiet"],
          "match": r"big.parquet row 3 maps to values beyond float32's range"}),
    Case("a saved map whose weights overflow float32 on the input", "instructlin map",
         "refused: names the first row that overflows; nothing written",
         {"argv": [*MAP, "{x}"], "weights": "huge", "match": r"row 0 maps to values beyond float32's range"}),
    Case("a saved map with float64 weights beyond float32's range", "instructlin map / InstructionMap.load",
         "refused at load: the weights are beyond float32's range",
         {"argv": [*MAP, "{x}"], "weights": "float64 1e300", "match": r"beyond float32's range"}),
    Case("--instructed values beyond float32's range (1e300)", "instructlin fit",
         "refused before fitting: names the array and the first row; scale the embeddings",
         {"argv": ["fit", "--output", "{out}", "--quiet", "--method", "ridge", "--base", "{x}",
                   "--instructed", "{dir}/y_big64.npy"], "match": r"Y_instructed has 40 row\(s\) with values beyond"}),
]


@pytest.mark.parametrize("case", params(OVERFLOW_CASES))
def test_overflow_is_refused_in_one_line(case: Case, work: dict[str, str], capsys) -> None:
    if case.data.get("weights") == "huge":
        _weights(Path(work["map"]), lambda t: {"coef": np.full_like(t["coef"], BIG), "intercept": t["intercept"]})
    elif case.data.get("weights") == "float64 1e300":
        _weights(Path(work["map"]), lambda t: {"coef": t["coef"].astype(np.float64) * 1e300,
                                               "intercept": t["intercept"].astype(np.float64)})
    err = _one_line_error(case.data["argv"], work, capsys)
    assert err.startswith("instructlin: error: "), err
    assert "RuntimeWarning" not in err
    assert re.search(case.data["match"], err), err


def _big_rows(n: int, dtype=np.float64, value: float = 1e300) -> np.ndarray:
    X = np.random.default_rng(1).normal(size=(n, DIM)).astype(dtype)
    X[2] = value
    return X


LIBRARY_CASES = [
    Case("X beyond float32's range (float64 1e300)", "InstructionMap.transform",
         "ValueError naming the first row that overflows float32 (no inf returned, no numpy warning)",
         {"call": lambda m: m.transform(_big_rows(5)), "match": r"X row 2 maps to values beyond float32's range"}),
    Case("X in float32 whose mapped values overflow", "InstructionMap.transform",
         "ValueError naming the first row that overflows float32",
         {"call": lambda m: m.transform(_big_rows(5, np.float32, BIG)), "match": r"X row 2 maps to values beyond"}),
    Case("a torch tensor with NaN", "InstructionMap.transform",
         "ValueError naming the first bad row, as for numpy input",
         {"torch": "nan", "match": r"X has 1 row\(s\) with NaN or inf \(first: row 2\)"}),
    Case("a torch tensor whose mapped values overflow float32", "InstructionMap.transform",
         "ValueError naming the first row that overflows float32",
         {"torch": "big", "match": r"X row 2 maps to values beyond float32's range"}),
    Case("Y beyond float32's range (float64 1e300)", "InstructionMap.fit",
         "ValueError naming the array and the first row; scale the embeddings",
         {"call": lambda m: InstructionMap("ridge", alpha=1.0).fit(_big_rows(40, value=0.5), _big_rows(40)),
          "match": r"Y_instructed has 1 row\(s\) with values beyond float32's range"}),
    Case("pairs whose fitted weights overflow float32 (X ~ 1e-30, Y ~ 1e30)", "InstructionMap.fit",
         "ValueError: the weights are beyond float32's range; scale the embeddings",
         {"call": lambda m: InstructionMap("ridge", alpha=1e-300, prior="zero").fit(
             _big_rows(40, value=0.5) * 1e-30, _big_rows(40, value=0.5) * 1e30),
          "match": r"fitted map's weights are beyond float32's range"}),
    Case("a map whose weights overflow float32", "InstructionMap.save",
         "ValueError before anything is written: the weights are beyond float32's range",
         {"call": lambda m: (setattr(m, "coef_", m.coef_.astype(np.float64) * 1e300), m.save(m.folder)),
          "match": r"Cannot save the map .*beyond float32's range"}),
]


@pytest.mark.parametrize("case", params(LIBRARY_CASES))
def test_library_refuses_non_finite_results(case: Case, work: dict[str, str]) -> None:
    model = InstructionMap.load(work["map"])
    model.folder = Path(work["dir"]) / "saved"
    if "torch" in case.data:
        torch = pytest.importorskip("torch")
        X = torch.randn(5, DIM)
        X[2] = float("nan") if case.data["torch"] == "nan" else BIG

        def call(m):
            return m.transform(X)
    else:
        call = case.data["call"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a clear refusal, not numpy's warning first
        with pytest.raises(ValueError, match=case.data["match"]):
            call(model)
    assert not model.folder.exists()


def test_ordinary_values_still_map_and_round_trip(work: dict[str, str]) -> None:
    model = InstructionMap.load(work["map"])
    X = np.load(work["x"])
    np.testing.assert_allclose(model.transform(X.astype(np.float64)), model.transform(X), rtol=1e-5, atol=1e-5)
    assert main(["map", "--map", work["map"], "--input", work["x"], "--output", work["out"] + ".npy",
                 "--quiet"]) == 0
    np.testing.assert_allclose(np.load(work["out"] + ".npy"), model.transform(X), rtol=1e-5, atol=1e-5)
    assert json.loads((Path(work["map"]) / "config.json").read_text())["n_features_in"] == DIM


DEEP = "[" * 100_000 + "]" * 100_000  # deeper than Python's parser recurses


def _deep_config(work: dict[str, str]) -> None:
    config = Path(work["map"]) / "config.json"
    config.write_text(config.read_text()[:-1] + f', "deep": {DEEP}}}')


def _bfloat16_weights(work: dict[str, str]) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    path = str(Path(work["map"]) / "model.safetensors")
    save_file({k: v.to(torch.bfloat16) for k, v in load_file(path).items()}, path)


def _manifest_shards_list(work: dict[str, str]) -> None:
    shards, out = Path(work["dir"]) / "shards", Path(work["dir"]) / "mapped"
    shards.mkdir()
    np.save(shards / "a.npy", np.load(work["x"]))
    assert main(["map", "--map", work["map"], "--input", str(shards), "--output", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "instructlin-shards.json").read_text())
    (out / "instructlin-shards.json").write_text(json.dumps({**manifest, "shards": ["a.npy"]}))


def _write(name: str, text: str):
    return lambda work: (Path(work["dir"]) / name).write_text(text)


def _truncated(work: dict[str, str]) -> None:
    data = Path(work["x"]).read_bytes()
    (Path(work["dir"]) / "cut.npy").write_bytes(data[: len(data) // 2])


def _read_only(monkeypatch) -> None:
    import instructlin.cli.outputs

    monkeypatch.setattr(instructlin.cli.outputs.os, "access", lambda *args, **kwargs: False)


EVAL = ["evaluate", "--quiet", "--encoder", "minilm", "--no-timing"]
ROWS = '{"text": "a b", "label": "x"}\n{"text": "c d", "label": "y"}\n'
JSONL = [*EVAL, "--data", "{dir}/d.jsonl", "--output", "{out}.json"]

MESSAGE_CASES = [
    Case("config.json nested 100,000 levels deep", "instructlin map / InstructionMap.load",
         "refused: not valid JSON, it nests too deeply; save the map again",
         {"setup": _deep_config, "argv": [*MAP, "{x}"], "match": "nests arrays or objects too deeply"}),
    Case("a .npy.json sidecar nested 100,000 levels deep", "instructlin map",
         "refused: the sidecar is not valid JSON (nests too deeply); fix or delete it",
         {"setup": _write("x.npy.json", DEEP), "argv": [*MAP, "{x}"], "match": r"x.npy.json is not valid JSON"}),
    Case("bfloat16 weights", "instructlin map / InstructionMap.load",
         "refused: names the type numpy cannot read; save the weights as float32",
         {"setup": _bfloat16_weights, "argv": [*MAP, "{x}"], "match": "bfloat16.*save the map's weights as float32"}),
    Case("a shard manifest whose 'shards' is a list", "instructlin map (shards)",
         "refused: not a readable shard manifest; remove it or write to a new folder",
         {"setup": _manifest_shards_list, "argv": ["map", "--map", "{map}", "--input", "{dir}/shards", "--output",
                                                   "{dir}/mapped", "--quiet"], "match": "'shards' must be an object"}),
    Case("a JSONL line that is an array", "instructlin evaluate / load_table",
         "refused: names the line that is not a JSON object",
         {"setup": _write("d.jsonl", ROWS + "[1, 2]\n"), "argv": JSONL, "match": "d.jsonl line 3 is not a JSON"}),
    Case("a JSONL line that is a number", "instructlin evaluate / load_table",
         "refused: names the line that is not a JSON object",
         {"setup": _write("d.jsonl", ROWS + "5\n"), "argv": JSONL, "match": "d.jsonl line 3 is not a JSON object"}),
    Case("a truncated .npy as --base", "instructlin fit",
         "refused: truncated, how many bytes are missing (not called a pickle problem)",
         {"setup": _truncated, "argv": ["fit", "--output", "{out}", "--quiet", "--base", "{dir}/cut.npy",
                                        "--instructed", "{y}"], "match": r"cut.npy is truncated: \d+ bytes"}),
]

OUTPUT_CASES = [
    Case("--output that is an existing folder", "instructlin evaluate",
         "refused before any data is read or encoded: give a file name",
         {"argv": [*EVAL, "--output", "{dir}"], "match": "is a folder; give a file name"}),
    Case("--output under a file", "instructlin evaluate",
         "refused before any data is read or encoded: nothing can be written under a file",
         {"argv": [*EVAL, "--output", "{x}/result.json"], "match": "is a file, so nothing can be written under it"}),
    Case("--output in a folder that is not writable", "instructlin evaluate",
         "refused before any data is read or encoded: the folder is not writable",
         {"argv": [*EVAL, "--output", "{out}.json"], "read_only": True, "match": "is not writable"}),
    Case("--output under a file", "instructlin embed",
         "refused before the texts are read or encoded",
         {"argv": ["embed", "--quiet", "--encoder", "minilm", "--output", "{x}/e.npy"], "match": "is a file"}),
    Case("--output in a folder that is not writable", "instructlin embed (Parquet shards)",
         "refused before any shard is encoded: the folder is not writable",
         {"argv": ["embed", "--quiet", "--encoder", "minilm", "--data", "{dir}/*.parquet", "--output", "{dir}/v"],
          "read_only": True, "match": "is not writable"}),
    Case("--output in a folder that is not writable", "instructlin fit",
         "refused before the pairs are read or fitted: the folder is not writable",
         {"argv": ["fit", "--quiet", "--output", "{out}", "--base", "{x}", "--instructed", "{y}"], "read_only": True,
          "match": "is not writable"}),
]


@pytest.mark.parametrize("case", params(MESSAGE_CASES))
def test_odd_files_are_refused_in_one_line_not_as_a_bug(case: Case, work: dict[str, str], capsys) -> None:
    case.data["setup"](work)
    err = _one_line_error(case.data["argv"], work, capsys)
    assert err.startswith("instructlin: error: ") and re.search(case.data["match"], err), err


@pytest.mark.parametrize("case", params(OUTPUT_CASES))
def test_output_is_checked_before_any_work(case: Case, work: dict[str, str], capsys, monkeypatch) -> None:
    import instructlin.pipeline.experiment
    import instructlin.pipeline.stages
    import instructlin.shards.embed

    def work_started(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    for module, name in ((instructlin.pipeline.experiment, "run_experiment"),
                         (instructlin.pipeline.stages, "load_data"),
                         (instructlin.shards.embed, "embed_shards"), (np, "load")):
        monkeypatch.setattr(module, name, work_started)
    if case.data.get("read_only"):
        _read_only(monkeypatch)
    err = _one_line_error(case.data["argv"], work, capsys)
    assert err.startswith("instructlin: error: ") and re.search(case.data["match"], err), err


def test_ctrl_c_is_one_line_and_exit_130(work: dict[str, str], capsys, monkeypatch) -> None:
    import instructlin.cli.commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(instructlin.cli.commands.COMMANDS, "map", interrupted)
    err = _one_line_error([*MAP, "{x}"], work, capsys, code=130)
    assert err.startswith("instructlin: interrupted (Ctrl-C)"), err


def _cli_with(command: str, work: dict[str, str]):
    """Run ``instructlin map`` in a fresh Python whose map command is replaced by ``command`` (a lambda). Ctrl-C
    raises KeyboardInterrupt there, as in a terminal's foreground process, even where this run was started in
    the background (a shell leaves SIGINT ignored for background jobs, and Python keeps it so)."""
    import subprocess
    import sys

    code = ("import os, signal, time, numpy as np, instructlin.cli.commands as cli\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"cli.COMMANDS['map'] = {command}\n"
            f"raise SystemExit(cli.main({_fill([*MAP, '{x}'], work)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def test_a_real_sigint_prints_no_traceback(work: dict[str, str]) -> None:
    run = _cli_with("lambda args: (os.kill(os.getpid(), signal.SIGINT), time.sleep(30))", work)
    assert run.returncode == 130, run.stderr
    assert run.stderr.strip().startswith("instructlin: interrupted") and len(run.stderr.splitlines()) == 1, run.stderr


def test_numpy_runtime_warnings_do_not_reach_stderr(work: dict[str, str]) -> None:
    run = _cli_with("lambda args: (np.float32(3e38) * np.float32(10), np.zeros(2) / 0)", work)
    assert run.returncode == 0 and run.stderr == "", run.stderr


def _deep_archive(work: dict[str, str]) -> None:
    import io
    import zipfile

    from instructlin.core.archive import read_map_archive

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", DEEP)
        archive.writestr("model.safetensors", (Path(work["map"]) / "model.safetensors").read_bytes())
    read_map_archive(io.BytesIO(buffer.getvalue()))


def _deep_pack(work: dict[str, str]) -> None:
    from instructlin.sources.packs import read_pack

    (Path(work["dir"]) / "manifest.json").write_text(DEEP)
    read_pack(work["dir"])


JSON_CASES = [
    Case("a map zip whose config.json nests 100,000 levels deep", "app: load a map (.zip)",
         "refused: config.json is not JSON (nests too deeply), not called a damaged zip", {"call": _deep_archive}),
    Case("a pack manifest.json nested 100,000 levels deep", "instructlin evaluate --pack / read_pack",
         "refused: the manifest is not valid JSON (nests too deeply)", {"call": _deep_pack}),
]


@pytest.mark.parametrize("case", params(JSON_CASES))
def test_deep_json_is_named_as_such(case: Case, work: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="nests arrays or objects too deeply"):
        case.data["call"](work)
