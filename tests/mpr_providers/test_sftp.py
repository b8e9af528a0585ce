"""The SFTP provider against a real OpenSSH sshd on loopback (tests/peers/sshd.py)."""

from __future__ import annotations

import os

import pytest
from peers import free_port
from peers.sshd import Sshd

from openras.codes import WN, ErrorCode, RasError
from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.sftp import SftpFS, SftpProvider, SftpTarget

OWNER = os.geteuid()


def request(
    server: Sshd,
    path: str = "",
    password: str | None = None,
    user: str | None = None,
    **options: object,
) -> ConnectRequest:
    options.setdefault("known_hosts", str(server.known_hosts))
    return ConnectRequest(
        remote_name=f"sftp://{server.user}@{server.host}:{server.port}{path}",
        user=user,
        password=server.password if password is None else password,
        mount_point=None,
        owner_uid=OWNER,
        options=dict(options),
    )


async def connect_code(req: ConnectRequest) -> int:
    with pytest.raises(RasError) as info:
        await SftpProvider().connect(req)
    return info.value.code


async def test_deviceless_password(sshd: Sshd) -> None:
    conn = await SftpProvider().connect(request(sshd))
    assert conn.provider == "openras SFTP" and conn.user == sshd.user and conn.mount_point is None
    assert conn.root == str(sshd.home)  # type: ignore[attr-defined]
    assert conn.alive and await conn.open_files() == 0
    assert sshd.password not in repr(conn)
    await conn.close(force=False)
    assert not conn.alive


async def test_deviceless_key_and_absolute_path(sshd: Sshd) -> None:
    (sshd.home / "sub").mkdir()
    conn = await SftpProvider().connect(
        request(sshd, path=f"{sshd.home}/sub", password="", key=str(sshd.client_key))
    )
    assert conn.root == f"{sshd.home}/sub"  # type: ignore[attr-defined]
    await conn.close(force=False)


async def test_bad_password(sshd: Sshd) -> None:
    assert await connect_code(request(sshd, password="wrong")) == ErrorCode.ERROR_LOGON_FAILURE
    assert await connect_code(request(sshd, user="nosuchuser")) == ErrorCode.ERROR_LOGON_FAILURE


async def test_unknown_path(sshd: Sshd) -> None:
    assert await connect_code(request(sshd, path="/~/nosuchdir")) == ErrorCode.ERROR_BAD_NET_NAME
    (sshd.home / "file").write_text("x")
    assert await connect_code(request(sshd, path="/~/file")) == ErrorCode.ERROR_BAD_NET_NAME


async def test_host_key_checked(sshd: Sshd) -> None:
    code = await connect_code(request(sshd, known_hosts=str(sshd.wrong_known_hosts)))
    assert code == ErrorCode.ERROR_EXTENDED_ERROR
    empty = sshd.dir / "empty_known_hosts"
    empty.write_text("")
    assert (
        await connect_code(request(sshd, known_hosts=str(empty))) == ErrorCode.ERROR_EXTENDED_ERROR
    )
    missing = sshd.dir / "missing_known_hosts"
    assert (
        await connect_code(request(sshd, known_hosts=str(missing)))
        == ErrorCode.ERROR_EXTENDED_ERROR
    )


async def test_unreachable(sshd: Sshd) -> None:
    req = ConnectRequest(
        f"sftp://u@127.0.0.1:{free_port()}/",
        "u",
        "p",
        None,
        OWNER,
        {"known_hosts": str(sshd.known_hosts), "timeout": 3},
    )
    assert await connect_code(req) == ErrorCode.ERROR_BAD_NET_NAME


async def test_foreign_names_declined(sshd: Sshd) -> None:
    req = ConnectRequest(
        r"\\127.0.0.1\share", "u", "p", None, OWNER, {"known_hosts": str(sshd.known_hosts)}
    )
    assert await connect_code(req) == WN.WN_BAD_NETNAME


def test_sync_fs(sshd: Sshd) -> None:
    """The blocking file system the mount child uses: create, write, read, rename, list, remove."""
    fs = SftpFS(SftpTarget.from_request(request(sshd)))
    try:
        fs.connect()
        f = fs.open("/a.txt", os.O_RDWR | os.O_CREAT, 0o644, create=True)
        assert f.write(0, b"hello world") == 11
        assert f.read(6, 100) == b"world"
        f.close()
        fs.rename("/a.txt", "/b.txt")
        fs.mkdir("/d", 0o755)
        with pytest.raises(OSError) as info:
            fs.mkdir("/d", 0o755)
        assert info.value.errno == 17
        names = dict(fs.listdir("/"))
        assert names["b.txt"].size == 11 and names["d"].is_dir
        assert (sshd.home / "b.txt").read_bytes() == b"hello world"
        fs.truncate("/b.txt", 5)
        assert fs.stat("/b.txt").size == 5
        fs.unlink("/b.txt")
        fs.rmdir("/d")
        with pytest.raises(OSError) as info:
            fs.stat("/b.txt")
        assert info.value.errno == 2
        assert fs.statvfs()["f_bsize"] > 0
    finally:
        fs.close()
