"""Router against the real smbd: add / cancel / query / enumerate, codes for rejected requests."""

from __future__ import annotations

from typing import Any

import pytest

from openras.codes import ErrorCode, RasError
from openras.mpr import netresource as nr
from openras.mpr.netresource import NETRESOURCE
from openras.mpr.router import Caller, MprError

ROOT = Caller(0, 1234)


def res(
    remote: str,
    local: str | None = None,
    provider: str | None = None,
    type_: int = nr.RESOURCETYPE_DISK,
) -> NETRESOURCE:
    return NETRESOURCE(dwType=type_, lpRemoteName=remote, lpLocalName=local, lpProvider=provider)


async def test_deviceless_add_query_cancel(mpr_factory: Any, smbd: Any) -> None:
    svc = await mpr_factory()
    r = svc.router
    out = await r.add_connection(ROOT, res(smbd.unc), smbd.password, smbd.user)
    assert (
        out["provider"] == "openras SMB" and out["user"] == smbd.user and out["local_name"] is None
    )
    assert out["notifyee_errors"] == []
    rows = r.list_connections(ROOT)
    assert [(x["status"], x["remote_name"]) for x in rows] == [("OK", smbd.unc)]
    assert await r.get_user(ROOT, smbd.unc) == smbd.user
    h = await r.open_enum(ROOT, nr.RESOURCE_CONNECTED)
    items = r.enum_resource(ROOT, h, 10)
    assert [(i.lpRemoteName, i.lpLocalName, i.lpProvider) for i in items] == [
        (smbd.unc, None, "openras SMB")
    ]
    with pytest.raises(RasError) as e:
        r.enum_resource(ROOT, h, 10)
    assert e.value.code == ErrorCode.ERROR_NO_MORE_ITEMS
    done = await r.cancel_connection(ROOT, smbd.unc, 0, False)
    assert done["provider"] == "openras SMB"
    assert r.list_connections(ROOT) == []
    with pytest.raises(RasError) as e:
        await r.cancel_connection(ROOT, smbd.unc, 0, False)
    assert e.value.code == ErrorCode.ERROR_NOT_CONNECTED


async def test_bad_password_is_the_providers_answer(mpr_factory: Any, smbd: Any) -> None:
    svc = await mpr_factory()
    with pytest.raises(MprError) as e:
        await svc.router.add_connection(Caller(0, 77), res(smbd.unc), "wrong", smbd.user)
    assert e.value.code in (ErrorCode.ERROR_LOGON_FAILURE, ErrorCode.ERROR_INVALID_PASSWORD)
    code, text, provider = svc.router.last_error(Caller(0, 77))
    assert code == e.value.code and provider == "openras SMB" and text
    assert svc.router.last_error(Caller(0, 78)) == (0, "", "")


async def test_sftp_through_the_walk_and_provider_order(
    mpr_factory: Any, sshd_shared: Any, smbd: Any
) -> None:
    """SMB says "not mine" (67) to an sftp:// name and SFTP takes it; a host-key failure is not a
    decline: it ends the walk as 1208 with the reason in WNetGetLastError."""
    sshd = sshd_shared
    svc = await mpr_factory(
        f'[mpr]\nprovider_order = ["openras SFTP", "openras SMB"]\n'
        f'[mpr.sftp]\nknown_hosts = "{sshd.known_hosts}"\n'
    )
    r = svc.router
    assert [p.name for p in r.providers] == ["openras SFTP", "openras SMB"]
    url = f"sftp://{sshd.host}:{sshd.port}/~"
    out = await r.add_connection(ROOT, res(url), sshd.password, sshd.user)
    assert out["provider"] == "openras SFTP" and out["user"] == sshd.user
    # SFTP is asked first and declines a UNC name; SMB connects it.
    assert (await r.add_connection(ROOT, res(smbd.unc), smbd.password, smbd.user))[
        "provider"
    ] == "openras SMB"
    # lpProvider: only that one is asked, and its own answer is the result.
    with pytest.raises(MprError) as e:
        await r.add_connection(
            ROOT, res(smbd.unc, provider="openras SFTP"), smbd.password, smbd.user
        )
    assert e.value.code == ErrorCode.ERROR_BAD_NET_NAME
    await r.cancel_connection(ROOT, url)
    await r.cancel_connection(ROOT, smbd.unc)

    wrong = await mpr_factory(
        f'[mpr.sftp]\nknown_hosts = "{sshd.wrong_known_hosts}"\n',
        home=svc.ctx.paths.state / "wrong",
    )
    caller = Caller(0, 555)
    with pytest.raises(MprError) as e:
        await wrong.router.add_connection(caller, res(url), sshd.password, sshd.user)
    assert e.value.code == ErrorCode.ERROR_EXTENDED_ERROR
    code, text, provider = wrong.router.last_error(caller)
    # WNetGetLastError: the provider's own code (857: the host key is not trusted), the key's
    # fingerprint and the command that trusts it.
    assert (
        code == ErrorCode.ERROR_EAP_SERVER_CERT_INVALID
        and provider == "openras SFTP"
        and "SHA256:" in text
        and "openras net trust" in text
        and sshd.password not in text
    )
