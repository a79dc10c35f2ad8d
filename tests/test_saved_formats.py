"""Maps saved by earlier instructlin versions still load and map as they did.

``tests/fixtures/maps/format1`` was written by the first release's ``InstructionMap.save`` (map format 1,
commit b5c07b2), ``format2`` by the flat-layout package before the subpackages (commit e758e2d); each
folder also holds five input rows and what that version's ``transform`` made of them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from instructlin import InstructionMap

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "maps"


@pytest.mark.parametrize("version", [1, 2])
def test_a_map_of_an_earlier_format_loads_and_maps_as_it_did(version):
    folder = FIXTURES / f"format{version}"
    assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["format_version"] == version
    loaded = InstructionMap.load(folder)
    assert loaded.n_features_in_ == 6 and loaded.method == "ridge"
    np.testing.assert_allclose(loaded.transform(np.load(folder / "probe_in.npy")), np.load(folder / "probe_out.npy"),
                               rtol=1e-5, atol=1e-6)


def test_an_unknown_format_is_refused_naming_the_readable_ones(tmp_path):
    folder = shutil.copytree(FIXTURES / "format2", tmp_path / "map")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "format_version": 3}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"map format 3; this instructlin reads formats \(1, 2\)"):
        InstructionMap.load(folder)
