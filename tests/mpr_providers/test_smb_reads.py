"""Reads of SMB files with several requests in flight, against a real Samba smbd: the bytes
must be the file's, sequentially, at random offsets, at the end of file and after changes —
directly on an open file (exact offsets and sizes) and through the FUSE mount."""

# Blocking file calls in the async test are deliberate: the mount is served by its own process.
# ruff: noqa: ASYNC230

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from peers import require
from peers.smbd import Smbd

from openras.mpr.mount import MountConnection, is_mount_point
from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbFile, SmbProvider, SmbSession, session_for
from openras.mpr.providers.smb_read import CHUNK, WINDOW

MIB = 1 << 20
SIZE = 6 * MIB + 12345  # more than a window of chunks, and not a multiple of a chunk


def put(server: Smbd, name: str, data: bytes) -> Path:
    path = server.share_dir / name
    path.write_bytes(data)
    os.chown(path, server.uid, server.uid)
    return path


def session(server: Smbd) -> SmbSession:
    s = session_for(
        ConnectRequest(server.unc, server.user, server.password, None, os.geteuid(), {})
    )
    s.connect()
    return s


def test_sequential_random_and_end_of_file(smbd: Smbd) -> None:
    data = os.urandom(SIZE)
    put(smbd, "big.bin", data)
    s = session(smbd)
    try:
        f = s.open("/big.bin", os.O_RDONLY, 0, create=False)
        assert isinstance(f, SmbFile)
        # Sequential in FUSE's 128 KiB pieces: the window is used, the bytes are the file's.
        got = bytearray()
        while piece := f.read(len(got), 128 * 1024):
            got += piece
            if len(got) == 2 * 128 * 1024:
                assert len(f._reader._ahead) == WINDOW  # reads in flight while reading on
        assert bytes(got) == data
        assert f.read(SIZE, 4096) == b"" and f.read(SIZE + 5 * MIB, 10) == b""
        # Random offsets and sizes, some across chunk boundaries and past the end.
        rng = random.Random(9)
        for _ in range(200):
            offset = rng.randrange(0, SIZE + 1000)
            size = rng.choice((1, 100, 4096, 131072, CHUNK + 7, 3 * CHUNK))
            assert f.read(offset, size) == data[offset : offset + size], (offset, size)
        # Random jumps interleaved with sequential runs that start the window, then jump away.
        for start in (0, 5 * MIB - 3, 2 * MIB + 1, SIZE - 200_000, 17):
            pos = start
            for _ in range(WINDOW + 3):
                piece = f.read(pos, 131072)
                assert piece == data[pos : pos + 131072], pos
                pos += len(piece)
        # Exactly chunk-sized file end: the read past it comes back empty, not an error.
        f.close()
        exact = os.urandom(2 * CHUNK)
        put(smbd, "exact.bin", exact)
        g = s.open("/exact.bin", os.O_RDONLY, 0, create=False)
        got = bytearray()
        while piece := g.read(len(got), 65536):
            got += piece
        assert bytes(got) == exact
        g.close()
    finally:
        s.close()


def test_writes_and_server_changes_are_seen(smbd: Smbd) -> None:
    path = put(smbd, "changing.bin", os.urandom(3 * MIB))
    s = session(smbd)
    try:
        f = s.open("/changing.bin", os.O_RDWR, 0, create=False)
        assert f.read(0, 131072) == path.read_bytes()[:131072]
        assert f.read(131072, 131072) == path.read_bytes()[131072:262144]  # window in flight
        # A write through the handle inside the window is read back, not the stale window.
        f.write(200_000, b"X" * 5000)
        expected = path.read_bytes()
        assert expected[200_000:205_000] == b"X" * 5000
        assert f.read(131072, 2 * MIB) == expected[131072 : 131072 + 2 * MIB]
        # Truncated through the handle: reads stop at the new end.
        f.truncate(1000)
        assert f.read(0, 131072) == expected[:1000]
        assert f.read(1000, 131072) == b""
        f.close()
        # Changed on the server: the next open reads the new bytes.
        new = os.urandom(2 * MIB + 1)
        put(smbd, "changing.bin", new)
        g = s.open("/changing.bin", os.O_RDONLY, 0, create=False)
        got = bytearray()
        while piece := g.read(len(got), 131072):
            got += piece
        assert bytes(got) == new
        g.close()
    finally:
        s.close()


@pytest.fixture
def fuse() -> None:
    require(os.path.exists("/dev/fuse"), "/dev/fuse is missing (no FUSE)")
    require(
        shutil.which("fusermount3") is not None, "fusermount3 is missing (Debian package fuse3)"
    )
    require(
        os.geteuid() == 0 or os.access("/dev/fuse", os.R_OK | os.W_OK), "no access to /dev/fuse"
    )


def drop_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # so reads reach the mount again
    finally:
        os.close(fd)


async def test_through_the_mount(smbd: Smbd, tmp_path: Path, fuse: None) -> None:
    data = os.urandom(SIZE)
    put(smbd, "big.bin", data)
    mp = tmp_path / "mnt"
    conn = await SmbProvider().connect(
        ConnectRequest(smbd.unc, smbd.user, smbd.password, mp, os.geteuid(), {})
    )
    assert isinstance(conn, MountConnection)
    try:
        target = mp / "big.bin"
        # Sequential, as cp or dd would.
        with open(target, "rb", buffering=0) as f:
            got = bytearray()
            while piece := f.read(MIB):
                got += piece
        assert bytes(got) == data
        # Random offsets with the page cache dropped, so each read goes to the mount.
        rng = random.Random(10)
        drop_page_cache(target)
        fd = os.open(target, os.O_RDONLY)
        try:
            for _ in range(100):
                offset = rng.randrange(0, SIZE + 1000)
                size = rng.choice((1, 4096, 65536, 300_000))
                assert os.pread(fd, size, offset) == data[offset : offset + size], offset
        finally:
            os.close(fd)
        # Changed on the server (same size): a fresh open after dropping the cache sees it.
        new = os.urandom(SIZE)
        put(smbd, "big.bin", new)
        drop_page_cache(target)
        assert target.read_bytes() == new
    finally:
        await conn.close(force=True)
    assert not is_mount_point(mp)
