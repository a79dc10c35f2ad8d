"""The served app's exposure policy as pure functions: allowed roots, encoders, the upload store, map zips."""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app-side package ui/

from instructlin.core.archive import MAX_DIM, read_map_archive, weights_limit  # noqa: E402
from instructlin.core.mapping import CONFIG_FILE, WEIGHTS_FILE, InstructionMap  # noqa: E402
from instructlin.errors import MapArchiveError  # noqa: E402
from ui import access, uploads  # noqa: E402
from ui.text import code, plain  # noqa: E402


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "sub").mkdir(parents=True)
    outside.mkdir()
    for path in (allowed / "a.csv", allowed / "sub" / "b.parquet", outside / "secret.csv"):
        path.write_text("text,label\nx,y\n", encoding="utf-8")
    return {"root": tmp_path, "allowed": allowed, "outside": outside}


def test_roots_resolve_links_and_drop_missing_folders(tree):
    link = tree["root"] / "link"
    link.symlink_to(tree["allowed"], target_is_directory=True)
    env = {access.DATA_ROOTS: os.pathsep.join([str(link), str(tree["allowed"]), "/no/such/folder", " "])}
    assert access.data_roots(env) == (tree["allowed"].resolve(),)
    assert access.data_roots({}) == ()


@pytest.mark.parametrize("path", ["outside", "allowed/../outside", "allowed/escape", "/", "~"])
def test_resolve_inside_refuses_every_way_out(tree, path):
    (tree["allowed"] / "escape").symlink_to(tree["outside"], target_is_directory=True)
    allowed = (tree["allowed"].resolve(),)
    with pytest.raises(access.OutsideRootsError, match=re.escape(str(allowed[0]))):
        access.resolve_inside(path if path in ("/", "~") else tree["root"] / path, allowed)


def test_resolve_inside_takes_relative_names_inside_the_first_root(tree):
    allowed = (tree["allowed"].resolve(),)
    assert access.resolve_inside("sub", allowed) == allowed[0] / "sub"
    with pytest.raises(access.OutsideRootsError):
        access.resolve_inside("../outside", allowed)
    with pytest.raises(access.OutsideRootsError):
        access.resolve_inside(tree["allowed"], ())


def test_listing_skips_links_out_and_symlinked_folders_and_is_bounded(tree):
    allowed = tree["allowed"]
    (allowed / "leak.csv").symlink_to(tree["outside"] / "secret.csv")
    (allowed / "again").symlink_to(allowed / "sub", target_is_directory=True)
    listing = access.list_tables(allowed)
    assert [p.relative_to(allowed.resolve()).as_posix() for p in listing.files] == ["a.csv", "sub/b.parquet"]
    assert not listing.truncated
    assert access.list_tables(allowed, limit=1) == access.Listing((allowed.resolve() / "a.csv",), True)
    assert access.list_tables(allowed, max_entries=2).truncated


def test_data_specs_from_a_session(tree, tmp_path):
    uploads_dir = tmp_path / "uploads"
    uploads_dir.mkdir()
    env = {access.DATA_ROOTS: str(tree["allowed"])}
    stored = uploads_dir / "0123456789abcdef0123.csv"
    allowed = ["demo", "nyt:topic", "nyt:location", str(stored), str(tree["allowed"] / "sub" / "b.parquet")]
    refused = ["nyt:../x", str(uploads_dir / "mine.csv"), str(uploads_dir / ".." / stored.name),
               str(tree["outside"] / "secret.csv"), str(tree["allowed"] / ".." / "outside" / "secret.csv"),
               "/etc/passwd"]
    assert all(access.data_spec_allowed(spec, uploads_dir, env) for spec in allowed)
    assert not any(access.data_spec_allowed(spec, uploads_dir, env) for spec in refused)
    assert not access.data_spec_allowed(str(tree["allowed"] / "a.csv"), uploads_dir, {})


def test_encoder_policy(tree):
    model = tree["allowed"] / "model"
    model.mkdir()
    off, hub_on = {}, {access.CUSTOM_ENCODERS: "1"}
    folders_on = {access.ENCODER_ROOTS: str(tree["allowed"])}
    for name in access.NAMED_ENCODERS:
        assert access.encoder_refusal(name, off) is None
    assert access.encoder_refusal("org/model", off) == access.ENCODER_HELP
    assert access.encoder_refusal("org/model", hub_on) is None
    for bad in ("../org/model", "org/../../model", "~/model", "a\\b", str(model), str(tree["outside"])):
        assert access.encoder_refusal(bad, hub_on) is not None, bad
    assert access.encoder_refusal(str(model), folders_on) is None
    assert access.encoder_refusal(str(tree["outside"]), folders_on) is not None
    assert access.encoder_refusal("org/model", folders_on) is not None
    assert not access.custom_encoders_enabled(off)
    assert access.custom_encoders_enabled(hub_on) and access.custom_encoders_enabled(folders_on)


def test_upload_cap_setting():
    assert uploads.cap_bytes({}) == 500 * 2**20
    assert uploads.cap_bytes({uploads.CAP_VARIABLE: "0.5"}) == 2**19
    assert uploads.cap_bytes({uploads.CAP_VARIABLE: "lots"}) == 500 * 2**20


def test_upload_store_prunes_the_oldest_never_the_new_one(tmp_path):
    folder = tmp_path / "uploads"
    first = uploads.store(folder, "a.CSV", b"a" * 400, cap=1000)
    (folder / ".tmp-writing.csv").write_bytes(b"t" * 5000)  # another session's write under way
    time.sleep(0.01)
    second = uploads.store(folder, "b.csv", b"b" * 400, cap=1000)
    assert first.suffix == ".csv" and first.exists() and second.exists()
    time.sleep(0.01)
    uploads.store(folder, "a.csv", b"a" * 400, cap=1000)  # the same bytes again: now the newest
    time.sleep(0.01)
    third = uploads.store(folder, "c.csv", b"c" * 400, cap=1000)
    assert not second.exists() and first.exists() and third.exists()
    big = uploads.store(folder, "d.csv", b"d" * 3000, cap=1000)
    assert sorted(p.name for p in folder.iterdir()) == sorted([big.name, ".tmp-writing.csv"])


def test_plain_and_code_render_names_as_typed():
    name = "[click](http://example.com) *x* `y` :red[z] $k$ <b>\n.csv"
    shown = plain(name)
    assert "[click](" not in shown and "http://" not in shown and "\n" not in shown
    assert re.sub(r"\\(.)", r"\1", shown) == name.replace("\n", " ")  # Markdown's escapes give the name back
    assert code("a`b") == "``a`b``" and code("`x") == "`` `x ``" and code("[l](u)") == "`[l](u)`"


def map_archive(tmp_path: Path, *, weights: bytes | None = None, config: bytes | None = None) -> io.BytesIO:
    rng = np.random.default_rng(0)
    InstructionMap("procrustes").fit(rng.normal(size=(10, 8)), rng.normal(size=(10, 8))).save(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(CONFIG_FILE, config if config is not None else (tmp_path / CONFIG_FILE).read_bytes())
        archive.writestr(WEIGHTS_FILE, weights if weights is not None else (tmp_path / WEIGHTS_FILE).read_bytes())
    buffer.seek(0)
    return buffer


def test_a_real_map_archive_reads_and_fits_its_limit(tmp_path):
    members = read_map_archive(map_archive(tmp_path))
    assert members[WEIGHTS_FILE] == (tmp_path / WEIGHTS_FILE).read_bytes()
    assert len(members[WEIGHTS_FILE]) <= weights_limit(8, 8) < 8 + 4096 + 4 * 72 + 1
    assert weights_limit(MAX_DIM, MAX_DIM) < 2**31  # the largest map allowed is about 1 GiB of float32


def test_a_lying_size_is_refused(tmp_path):
    """The central directory says 100 bytes; the stored member holds 50,000: never read past the limit."""
    raw = bytearray(map_archive(tmp_path, weights=bytes(50_000)).getvalue())
    central = raw.rindex(b"PK\x01\x02")  # the last entry is the weights (written second)
    struct.pack_into("<I", raw, central + 24, 100)
    with pytest.raises(MapArchiveError):  # the bounded read stops at limit + 1; zipfile's CRC check then fails
        read_map_archive(io.BytesIO(bytes(raw)))


@pytest.mark.parametrize("config, says", [
    (b'{"n_features_in": 8, "n_features_out": 99999}', "16384"),
    (b'{"n_features_in": "8", "n_features_out": 8}', "not a whole number"),
    (b'{"n_features_in": true, "n_features_out": 8}', "not a whole number"),
    (b"[1, 2]", "not a JSON object"),
    (b"\xff\xfe", "not UTF-8 JSON"),
])
def test_bad_configs_are_refused(tmp_path, config, says):
    with pytest.raises(MapArchiveError, match=says):
        read_map_archive(map_archive(tmp_path, config=config))


def test_not_a_map_archive(tmp_path):
    with pytest.raises(MapArchiveError, match="not a readable zip"):
        read_map_archive(io.BytesIO(b"not a zip"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("nested/" + CONFIG_FILE, "{}")
    with pytest.raises(MapArchiveError, match="lacks model.safetensors and config.json"):
        read_map_archive(buffer)
