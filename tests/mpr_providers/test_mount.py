"""Mounting SMB and SFTP connections through FUSE, used by ordinary programs in other processes."""

# Blocking file and process calls in these async tests are deliberate and harmless: the
# FUSE mount is served by its own child process, never by this event loop.
# ruff: noqa: ASYNC220, ASYNC230, ASYNC240

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from peers import require
from peers.smbd import Smbd
from peers.sshd import Sshd

from openras.codes import ErrorCode, RasError
from openras.mpr.mount import MountConnection, is_mount_point, mount_points
from openras.mpr.providers.base import ConnectRequest, Provider
from openras.mpr.providers.sftp import SftpProvider
from openras.mpr.providers.smb import SmbProvider


@pytest.fixture(autouse=True)
def fuse_available() -> None:
    require(os.path.exists("/dev/fuse"), "/dev/fuse is missing (no FUSE)")
    require(
        shutil.which("fusermount3") is not None, "fusermount3 is missing (Debian package fuse3)"
    )
    require(
        os.geteuid() == 0 or os.access("/dev/fuse", os.R_OK | os.W_OK), "no access to /dev/fuse"
    )


def sh(script: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a shell snippet as a separate process (as the user's programs would)."""
    return subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, timeout=timeout
    )


def smb_request(server: Smbd, mount_point: Path) -> ConnectRequest:
    return ConnectRequest(server.unc, server.user, server.password, mount_point, os.geteuid(), {})


def sftp_request(server: Sshd, mount_point: Path) -> ConnectRequest:
    return ConnectRequest(
        f"sftp://{server.user}@{server.host}:{server.port}/~",
        None,
        server.password,
        mount_point,
        os.geteuid(),
        {"known_hosts": str(server.known_hosts)},
    )


Case = tuple[Provider, ConnectRequest, Path]  # provider, request, the remote directory on disk


@pytest.fixture(params=["smb", "sftp"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    if request.param == "smb":
        smbd: Smbd = request.getfixturevalue("smbd")
        return SmbProvider(), smb_request(smbd, tmp_path / "mnt"), smbd.share_dir
    sshd: Sshd = request.getfixturevalue("sshd")
    return SftpProvider(), sftp_request(sshd, tmp_path / "mnt"), sshd.home


@pytest.fixture
async def cleanup() -> AsyncIterator[Callable[[MountConnection], MountConnection]]:
    """Force-close whatever a test left mounted (by the child's PID, never by name)."""
    conns: list[MountConnection] = []
    yield lambda c: conns.append(c) or c  # type: ignore[func-returns-value]
    for conn in conns:
        if conn.alive or is_mount_point(conn.mount_point):
            await conn.close(force=True)


async def test_mount_copy_cat_ls_close(case: Case, cleanup: Any) -> None:
    provider, req, remote_dir = case
    source = req.mount_point.parent / "source.bin"  # type: ignore[union-attr]
    source.write_bytes(os.urandom(300_000) + b"end\n")
    conn = cleanup(await provider.connect(req))
    mp = req.mount_point
    assert isinstance(conn, MountConnection) and conn.mount_point == mp and is_mount_point(mp)
    assert conn.alive and await conn.open_files() == 0
    assert req.password not in repr(conn)
    result = sh(
        f"cp '{source}' '{mp}/copy.bin' && cat '{mp}/copy.bin' > '{source}.back' && ls '{mp}'"
    )
    assert result.returncode == 0, result.stderr
    assert "copy.bin" in result.stdout.split()
    assert Path(f"{source}.back").read_bytes() == source.read_bytes()
    assert (remote_dir / "copy.bin").read_bytes() == source.read_bytes()  # written to the server
    # Server-side files show through; directories, renames and removal work.
    made = remote_dir / "from_server.txt"
    made.write_text("made on the server\n")
    os.chown(
        made, remote_dir.stat().st_uid, remote_dir.stat().st_gid
    )  # as the server's user made it
    result = sh(
        f"cat '{mp}/from_server.txt' && mkdir '{mp}/dir'"
        f" && mv '{mp}/copy.bin' '{mp}/dir/moved.bin'"
        f" && ls -l '{mp}/dir' && rm '{mp}/from_server.txt'"
        f" && echo appended >> '{mp}/dir/moved.bin'"
        f" && touch '{mp}/empty' && truncate -s 10 '{mp}/empty' && df '{mp}'"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("made on the server\n")
    assert (remote_dir / "dir" / "moved.bin").read_bytes() == source.read_bytes() + b"appended\n"
    assert not (remote_dir / "from_server.txt").exists()
    assert (remote_dir / "empty").stat().st_size == 10
    st = os.stat(mp / "dir" / "moved.bin")  # type: ignore[operator]
    assert st.st_uid == req.owner_uid and st.st_mode & 0o077 == 0
    await conn.close(force=False)
    assert not is_mount_point(mp) and str(mp) not in mount_points()
    assert not mp.exists()  # type: ignore[union-attr]  # we created it, so we removed it
    assert not conn.alive


async def test_open_file_blocks_close_until_forced(case: Case, cleanup: Any) -> None:
    provider, req, remote_dir = case
    (remote_dir / "held.txt").write_text("keep me open\n")
    conn = cleanup(await provider.connect(req))
    mp = req.mount_point
    # Another process holds the file open (its stdin), until we end it.
    holder = subprocess.Popen(
        ["/bin/sh", "-c", 'read line; echo "$line"; sleep 60'],
        stdin=open(mp / "held.txt"),
        stdout=subprocess.PIPE,  # type: ignore[operator]
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"keep me open\n"
        assert await conn.open_files() >= 1
        with pytest.raises(RasError) as info:
            await conn.close(force=False)
        assert info.value.code == ErrorCode.ERROR_OPEN_FILES
        assert is_mount_point(mp) and conn.alive
        await conn.close(force=True)
        assert not is_mount_point(mp)
        assert not conn.alive
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(10)


async def test_close_after_file_closed(case: Case, cleanup: Any) -> None:
    provider, req, remote_dir = case
    conn = cleanup(await provider.connect(req))
    mp = req.mount_point
    with open(mp / "f.txt", "w") as f:  # type: ignore[operator]
        f.write("x")
        assert await conn.open_files() == 1
    assert (remote_dir / "f.txt").read_text() == "x"
    await conn.close(force=False)  # released: no ERROR_OPEN_FILES
    assert not is_mount_point(mp)


async def test_mount_point_rules(smbd: Smbd, tmp_path: Path, cleanup: Any) -> None:
    provider = SmbProvider()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    for path, code in (
        (busy, ErrorCode.ERROR_ALREADY_ASSIGNED),
        (not_dir, ErrorCode.ERROR_ALREADY_ASSIGNED),
        (tmp_path / "no" / "parent", ErrorCode.ERROR_BAD_DEVICE),
    ):
        with pytest.raises(RasError) as info:
            await provider.connect(smb_request(smbd, path))
        assert info.value.code == code, path
    empty = tmp_path / "empty"
    empty.mkdir()
    conn = cleanup(await provider.connect(smb_request(smbd, empty)))
    with pytest.raises(RasError) as info:  # already a mount point
        await provider.connect(smb_request(smbd, empty))
    assert info.value.code == ErrorCode.ERROR_ALREADY_ASSIGNED
    await conn.close(force=False)
    assert empty.is_dir() and not is_mount_point(empty)  # not ours to remove


async def test_mount_bad_credentials_leave_nothing(smbd: Smbd, tmp_path: Path) -> None:
    req = smb_request(smbd, tmp_path / "mnt")
    req.password = "wrong"
    with pytest.raises(RasError) as info:
        await SmbProvider().connect(req)
    assert info.value.code == ErrorCode.ERROR_LOGON_FAILURE
    assert not (tmp_path / "mnt").exists() and not is_mount_point(tmp_path / "mnt")


async def test_daemon_gone_unmounts(smbd: Smbd, tmp_path: Path) -> None:
    """When the control socket closes (the daemon died), the child unmounts and exits."""
    conn = await SmbProvider().connect(smb_request(smbd, tmp_path / "mnt"))
    assert isinstance(conn, MountConnection)
    conn._writer.close()  # what the kernel does to the socket when the daemon dies
    await asyncio.wait_for(conn.proc.wait(), 15)
    assert not is_mount_point(tmp_path / "mnt")


async def test_mount_for_another_uid(smbd: Smbd, tmp_path: Path, cleanup: Any) -> None:
    """Root mounts for uid A: A's programs use it (allow_other), uid B is kept out."""
    from peers.users import require_other_uids, run_as

    owner, other = require_other_uids()
    # pytest's tmp_path sits under a 0700 directory the other uid cannot traverse.
    top = Path(tempfile.mkdtemp(prefix="openras-mnt-"))
    top.chmod(0o755)
    request_cleanup = top
    base = top / "home"
    base.mkdir()
    os.chown(base, owner, owner)
    req = ConnectRequest(smbd.unc, smbd.user, smbd.password, base / "mnt", owner, {})
    conn = cleanup(await SmbProvider().connect(req))
    mp = base / "mnt"
    assert mp.stat().st_uid == owner
    result = run_as(
        owner, owner, ["/bin/sh", "-c", f"echo mine > '{mp}/a' && cat '{mp}/a' && ls -ln '{mp}'"]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mine\n") and f" {owner} {owner} " in result.stdout
    assert (smbd.share_dir / "a").read_text() == "mine\n"
    intruder = run_as(other, other, ["/bin/cat", f"{mp}/a"])
    assert intruder.returncode != 0 and "denied" in intruder.stderr.lower()
    await conn.close(force=False)
    assert not is_mount_point(mp)
    shutil.rmtree(request_cleanup)


async def test_mount_point_of_another_user_refused(smbd: Smbd, tmp_path: Path) -> None:
    from peers.users import require_other_uids

    owner, _other = require_other_uids()
    (tmp_path / "rootdir").mkdir()  # owned by root, not by the requesting uid
    req = ConnectRequest(smbd.unc, smbd.user, smbd.password, tmp_path / "rootdir", owner, {})
    with pytest.raises(RasError) as info:
        await SmbProvider().connect(req)
    assert info.value.code == ErrorCode.ERROR_ACCESS_DENIED
