"""The SMB provider against a real Samba smbd on loopback: deviceless connections and codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from peers.smbd import Smbd, free_port

from openras.codes import WN, ErrorCode, RasError
from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbProvider

OWNER = os.geteuid()


def request(
    server: Smbd,
    name: str | None = None,
    password: str | None = None,
    user: str | None = None,
    **options: object,
) -> ConnectRequest:
    return ConnectRequest(
        remote_name=name or server.unc,
        user=user or server.user,
        password=server.password if password is None else password,
        mount_point=None,
        owner_uid=OWNER,
        options=dict(options),
    )


async def connect_code(provider: SmbProvider, req: ConnectRequest) -> int:
    with pytest.raises(RasError) as info:
        await provider.connect(req)
    return info.value.code


async def test_deviceless_connect_and_close(smbd: Smbd) -> None:
    provider = SmbProvider()
    try:
        conn = await provider.connect(request(smbd))
        assert conn.provider == "openras SMB"
        assert conn.user == smbd.user and conn.mount_point is None
        assert conn.alive and await conn.open_files() == 0
        assert smbd.password not in repr(conn)
        await conn.close(force=False)
        assert not conn.alive
    finally:
        await provider.close()


async def test_port_from_option_and_url(smbd: Smbd) -> None:
    provider = SmbProvider()
    try:
        for req in (
            request(smbd, name=rf"\\{smbd.host}\{smbd.share}", port=smbd.port),
            request(smbd, name=smbd.url),
            request(smbd, name=rf"\\{smbd.host}@{smbd.port}\{smbd.share}", port=1),
        ):
            conn = await provider.connect(req)
            await conn.close(force=False)
    finally:
        await provider.close()


async def test_subdirectory(smbd: Smbd) -> None:
    (smbd.share_dir / "sub").mkdir()
    os.chown(smbd.share_dir / "sub", smbd.uid, smbd.uid)
    (smbd.share_dir / "file.txt").write_text("x")
    provider = SmbProvider()
    try:
        conn = await provider.connect(request(smbd, name=smbd.unc + r"\sub"))
        await conn.close(force=False)
        assert (
            await connect_code(provider, request(smbd, name=smbd.unc + r"\nosuch"))
            == ErrorCode.ERROR_BAD_NET_NAME
        )
        assert (
            await connect_code(provider, request(smbd, name=smbd.unc + r"\file.txt"))
            == ErrorCode.ERROR_BAD_NET_NAME
        )
    finally:
        await provider.close()


async def test_bad_password(smbd: Smbd) -> None:
    provider = SmbProvider()
    try:
        # Samba answers STATUS_LOGON_FAILURE (never WRONG_PASSWORD): ERROR_LOGON_FAILURE.
        assert (
            await connect_code(provider, request(smbd, password="wrong"))
            == ErrorCode.ERROR_LOGON_FAILURE
        )
        assert (
            await connect_code(provider, request(smbd, user="nosuchuser"))
            == ErrorCode.ERROR_LOGON_FAILURE
        )
    finally:
        await provider.close()


async def test_unknown_share(smbd: Smbd) -> None:
    provider = SmbProvider()
    try:
        name = rf"\\{smbd.host}@{smbd.port}\nosuchshare"
        assert (
            await connect_code(provider, request(smbd, name=name)) == ErrorCode.ERROR_BAD_NET_NAME
        )
    finally:
        await provider.close()


async def test_unreachable_server() -> None:
    provider = SmbProvider()
    try:
        req = ConnectRequest(
            rf"\\127.0.0.1@{free_port()}\share", "u", "p", None, OWNER, {"timeout": 3}
        )
        assert await connect_code(provider, req) == ErrorCode.ERROR_BAD_NET_NAME
    finally:
        await provider.close()


async def test_foreign_names_declined() -> None:
    provider = SmbProvider()
    try:
        req = ConnectRequest("sftp://u@127.0.0.1/x", "u", "p", None, OWNER, {})
        assert await connect_code(provider, req) == WN.WN_BAD_NETNAME
    finally:
        await provider.close()


async def test_sessions_are_separate(smbd: Smbd) -> None:
    """Closing one connection leaves another to the same share working."""
    provider = SmbProvider()
    try:
        first = await provider.connect(request(smbd))
        second = await provider.connect(request(smbd))
        await first.close(force=False)
        assert second.alive and not first.alive
        session = second.session  # type: ignore[attr-defined]
        assert [n for n, _ in session.listdir("/")] == []
        await second.close(force=False)
    finally:
        await provider.close()


def test_share_dir_exists(smbd: Smbd) -> None:
    assert isinstance(smbd.share_dir, Path) and smbd.share_dir.is_dir()
