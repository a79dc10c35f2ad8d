"""The library never imports the app's packages (streamlit, plotly)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import instructlin

MODULES = sorted(f"instructlin.{m.name}" for m in pkgutil.iter_modules(instructlin.__path__)
                 if m.name != "__main__")


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_no_streamlit_or_plotly(module):
    code = (f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('streamlit', 'plotly')]; print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_public_api_is_exported():
    for name in instructlin.__all__:
        assert hasattr(instructlin, name), name
