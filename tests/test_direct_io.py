"""O_DIRECT reads and writes (instructlin.io.direct_io): exact bytes, and ordinary I/O where refused."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from instructlin.core.mapping import InstructionMap
from instructlin.io.direct_io import ALIGN, DirectOutput, aligned_empty, read_blocks
from instructlin.io.speedups import Speedups
from instructlin.io.streaming import map_file
from tests.map_files import D, expected, small_map

O_DIRECT = getattr(os, "O_DIRECT", 0)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> InstructionMap:
    return InstructionMap.load(small_map(tmp_path_factory.mktemp("maps")))


def test_aligned_writes_go_direct_and_the_first_unaligned_one_switches_to_ordinary_writes(tmp_path):
    target = tmp_path / "out.bin"
    target.touch()
    block = aligned_empty((1, 2 * ALIGN), np.uint8)
    block[0] = np.arange(2 * ALIGN) % 251
    with DirectOutput(str(target)) as out:
        direct_at_open = out.direct
        out.write_all(block)
        direct_after_blocks = out.direct
        out.write_all(b"tail")
        assert not out.direct
    assert target.read_bytes() == block.tobytes() + b"tail"
    if direct_at_open:  # this file system takes direct I/O: whole aligned blocks did not leave it
        assert direct_after_blocks


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize(("offset", "rows_per_block"), [(0, 7), (128, 7), (ALIGN, 1000), (100, 512)])
def test_read_blocks_gives_every_row_once_in_order(tmp_path, direct, offset, rows_per_block):
    X = np.random.default_rng(offset).standard_normal((1000, D)).astype(np.float32)
    (tmp_path / "x.bin").write_bytes(b"h" * offset + X.tobytes())
    got = [(start, block.copy()) for start, block in read_blocks(str(tmp_path / "x.bin"), offset, 1000, (D,),
                                                                 np.float32, rows_per_block, direct=direct)]
    assert [start for start, _ in got] == list(range(0, 1000, rows_per_block))
    np.testing.assert_array_equal(np.concatenate([block for _, block in got]), X)


def test_direct_io_off_gives_the_same_bytes(model, tmp_path):
    X = np.random.default_rng(1).standard_normal((3000, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "direct.npy", chunk_size=512)
    map_file(model, tmp_path / "in.npy", tmp_path / "plain.npy", chunk_size=512, speed=Speedups(direct_io=False))
    assert (tmp_path / "direct.npy").read_bytes() == (tmp_path / "plain.npy").read_bytes()


def test_a_file_system_without_direct_io_gets_ordinary_reads_and_writes(model, tmp_path, monkeypatch):
    real_open, refused = os.open, []

    def refuse_direct(path, flags, *args):
        if O_DIRECT and flags & O_DIRECT:
            refused.append(path)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse_direct)
    X = np.ones((300, D), np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=64)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected(model, X), rtol=1e-5, atol=1e-5)
    assert not O_DIRECT or len(refused) == 2  # the input and the output each asked once


def test_direct_reads_and_writes_refused_after_open_fall_back_to_ordinary_io(model, tmp_path, monkeypatch):
    """Some file systems accept O_DIRECT at open and refuse the first aligned read or write (EINVAL)."""
    refused = {"read": 0, "write": 0}
    real_preadv, real_write = os.preadv, os.write

    def preadv(fd, buffers, offset):
        if O_DIRECT and not refused["read"]:
            refused["read"] += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_preadv(fd, buffers, offset)

    def write(fd, data):
        if O_DIRECT and fd > 2 and not refused["write"] and len(memoryview(data).cast("B")) % ALIGN == 0:
            refused["write"] += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "preadv", preadv)
    monkeypatch.setattr(os, "write", write)
    X = np.random.default_rng(1).standard_normal((3000, D)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    map_file(model, tmp_path / "in.npy", tmp_path / "out.npy", chunk_size=512)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected(model, X), rtol=1e-5, atol=1e-5)
    assert not O_DIRECT or refused == {"read": 1, "write": 1}
