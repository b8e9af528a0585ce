"""Router against the real smbd: add / cancel / query / enumerate, codes for rejected requests."""

from __future__ import annotations

from typing import Any

import pytest

from openras.codes import RasError, errors
from openras.mpr import netresource as nr
from openras.mpr.netresource import NETRESOURCE
from openras.mpr.router import Caller, MprError

ROOT = Caller(0, 1234)


def res(remote: str, local: str | None = None, provider: str | None = None, type_: int = nr.RESOURCETYPE_DISK
        ) -> NETRESOURCE:
    return NETRESOURCE(dwType=type_, lpRemoteName=remote, lpLocalName=local, lpProvider=provider)


async def test_deviceless_add_query_cancel(mpr_factory: Any, smbd: Any) -> None:
    svc = await mpr_factory()
    r = svc.router
    out = await r.add_connection(ROOT, res(smbd.unc), smbd.password, smbd.user)
    assert out["provider"] == "openras SMB" and out["user"] == smbd.user and out["local_name"] is None
    assert out["notifyee_errors"] == []
    rows = r.list_connections(ROOT)
    assert [(x["status"], x["remote_name"]) for x in rows] == [("OK", smbd.unc)]
    assert r.get_user(ROOT, smbd.unc) == smbd.user
    h = r.open_enum(ROOT, nr.RESOURCE_CONNECTED)
    items = r.enum_resource(ROOT, h, 10)
    assert [(i.lpRemoteName, i.lpLocalName, i.lpProvider) for i in items] == [(smbd.unc, None, "openras SMB")]
    with pytest.raises(RasError) as e:
        r.enum_resource(ROOT, h, 10)
    assert e.value.code == errors.ERROR_NO_MORE_ITEMS
    done = await r.cancel_connection(ROOT, smbd.unc, 0, False)
    assert done["provider"] == "openras SMB"
    assert r.list_connections(ROOT) == []
    with pytest.raises(RasError) as e:
        await r.cancel_connection(ROOT, smbd.unc, 0, False)
    assert e.value.code == errors.ERROR_NOT_CONNECTED


async def test_bad_password_is_the_providers_answer(mpr_factory: Any, smbd: Any) -> None:
    svc = await mpr_factory()
    with pytest.raises(MprError) as e:
        await svc.router.add_connection(Caller(0, 77), res(smbd.unc), "wrong", smbd.user)
    assert e.value.code in (errors.ERROR_LOGON_FAILURE, errors.ERROR_INVALID_PASSWORD)
    code, text, provider = svc.router.last_error(Caller(0, 77))
    assert code == e.value.code and provider == "openras SMB" and text
    assert svc.router.last_error(Caller(0, 78)) == (0, "", "")
