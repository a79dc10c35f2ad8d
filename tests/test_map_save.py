"""Saving a map (instructlin.core.map_io): both files swap in together; the folder's other files and mode stay."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instructlin.atomic import remove_stale_temps, temp_name
from instructlin.core.map_io import CONFIG_FILE, WEIGHTS_FILE, load_map
from instructlin.core.mapping import InstructionMap
from instructlin.errors import DataError
from tests.map_files import D, hidden


def _fitted(seed: int, d: int = D) -> InstructionMap:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, d))
    return InstructionMap("ridge", alpha=1.0, prior="zero").fit(X, X + seed)


def test_save_failing_half_way_leaves_the_old_map_whole(tmp_path, monkeypatch):
    folder = _fitted(1).save(tmp_path / "map")
    old = {name: (folder / name).read_bytes() for name in (WEIGHTS_FILE, CONFIG_FILE)}

    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", no_space)  # the weights are written, the config is not
    with pytest.raises((OSError, DataError)) as failed:
        _fitted(2, d=4).save(folder)
    monkeypatch.undo()
    assert {name: (folder / name).read_bytes() for name in old} == old
    assert hidden(tmp_path) == []
    assert isinstance(failed.value, DataError) and "Free some space" in str(failed.value)


def test_save_over_a_map_keeps_the_users_other_files_and_folder_mode(tmp_path):
    folder = _fitted(1).save(tmp_path / "map")
    (folder / "NOTES.md").write_text("my notes")
    (folder / "runs").mkdir()
    (folder / "runs" / "log.txt").write_text("log")
    folder.chmod(0o750)
    _fitted(2, d=4).save(tmp_path / "map")
    assert load_map(InstructionMap, folder).n_features_in_ == 4
    assert (folder / "NOTES.md").read_text() == "my notes" and (folder / "runs" / "log.txt").read_text() == "log"
    assert folder.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map"]


def test_a_swap_killed_between_its_two_renames_is_undone_by_the_next_write(tmp_path):
    folder = _fitted(1).save(tmp_path / "map")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = temp_name(".replaced-map").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
    folder.rename(tmp_path / name)  # as if killed after renaming the old folder away
    remove_stale_temps(tmp_path)
    assert load_map(InstructionMap, folder).n_features_in_ == D and hidden(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_saved_map_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        folder = _fitted(1).save(tmp_path / "map")
    finally:
        os.umask(old)
    for path in (folder / WEIGHTS_FILE, folder / CONFIG_FILE):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask
