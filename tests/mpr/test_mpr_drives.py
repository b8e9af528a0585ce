"""Local names with the real smbd mounted through FUSE: drives, directories, codes, open files,
remembered connections across a restart (no notifyee), CONNECT_UPDATE_PROFILE forgetting."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from ras_helpers import logged_events

from openras.codes import ErrorCode, RasError
from openras.mpr import netresource as nr
from openras.mpr.netresource import NETRESOURCE
from openras.mpr.router import Caller, MprError

ROOT = Caller(0, 999)
NOTIFYEE = """
import json
def _log(kind, info):
    with open({log!r}, "a") as f:
        f.write(json.dumps([kind, info.dwNotifyStatus]) + "\\n")
    info.lpContext = 1
    return 0
def AddConnectNotify(info, add):
    return _log("add", info)
def CancelConnectNotify(info, cancel):
    return _log("cancel", info)
"""


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require as _need

    _need(os.path.exists("/dev/fuse"), "FUSE is not available")


def disk(remote: str, local: str | None) -> NETRESOURCE:
    return NETRESOURCE(dwType=nr.RESOURCETYPE_DISK, lpRemoteName=remote, lpLocalName=local)


def with_notifyee(home: Path) -> tuple[str, Path]:
    d = home / "notify"
    d.mkdir(mode=0o755, exist_ok=True)
    log = d / "calls.log"
    path = d / "audit.py"
    path.write_text(NOTIFYEE.format(log=str(log)))
    path.chmod(0o644)
    return f'[notifyees]\naudit = "{path}"\n', log


def calls(log: Path) -> list[list[Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


async def test_drive_mapping_mounts_the_share(mpr_factory: Any, smbd: Any) -> None:
    (smbd.share_dir / "hello.txt").write_text("hi from smbd")
    svc = await mpr_factory()
    r = svc.router
    out = await r.add_connection(ROOT, disk(smbd.unc, "z:"), smbd.password, smbd.user)
    assert out["local_name"] == "Z:"
    mount = Path(out["mount_point"])
    assert mount == svc.ctx.paths.state / "drives" / "0" / "Z"
    assert (mount / "hello.txt").read_text() == "hi from smbd"
    assert (await r.get_connection(ROOT, "Z:"))["remote_name"] == smbd.unc
    assert await r.get_user(ROOT, "Z:") == smbd.user
    # In use: 85, whatever the remote name, and before any notifyee.
    with pytest.raises(RasError) as e:
        await r.add_connection(ROOT, disk(smbd.unc, "Z:"), smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_ALREADY_ASSIGNED
    # Open files: 2401 without force; the connection stays.
    f = open(mount / "hello.txt")  # noqa: ASYNC230 - held open on purpose; a child process serves the mount
    try:
        with pytest.raises(MprError) as e:
            await r.cancel_connection(ROOT, "Z:", 0, False)
        assert e.value.code == ErrorCode.ERROR_OPEN_FILES
        assert (await r.get_connection(ROOT, "Z:"))["status"] == "OK"
        await r.cancel_connection(ROOT, "Z:", 0, True)
    finally:
        with contextlib.suppress(OSError):  # ENOTCONN: the forced cancel took the mount away
            f.close()
    with pytest.raises(RasError) as e:
        await r.get_connection(ROOT, "Z:")
    assert e.value.code == ErrorCode.ERROR_NOT_CONNECTED
    assert not mount.exists()  # noqa: ASYNC240


async def test_directory_mount_point_and_redirect(
    mpr_factory: Any, smbd: Any, mpr_home: Path
) -> None:
    (smbd.share_dir / "a.txt").write_text("A")
    svc = await mpr_factory()
    r = svc.router
    target = mpr_home / "mnt"
    target.mkdir()
    out = await r.add_connection(ROOT, disk(smbd.unc, str(target)), smbd.password, smbd.user)
    assert out["local_name"] == str(target) and (target / "a.txt").read_text() == "A"
    assert (await r.get_connection(ROOT, str(target)))["remote_name"] == smbd.unc
    # CONNECT_REDIRECT without a local name: a free drive from Z: downwards.
    first = await r.add_connection(
        ROOT, disk(smbd.unc, None), smbd.password, smbd.user, nr.CONNECT_REDIRECT
    )
    second = await r.add_connection(
        ROOT, disk(smbd.unc, None), smbd.password, smbd.user, nr.CONNECT_REDIRECT
    )
    assert (first["local_name"], second["local_name"]) == ("Z:", "Y:")
    h = await r.open_enum(ROOT, nr.RESOURCE_CONNECTED, nr.RESOURCETYPE_DISK)
    assert [i.lpLocalName for i in r.enum_resource(ROOT, h, 2)] == [str(target), "Y:"]
    assert [i.lpLocalName for i in r.enum_resource(ROOT, h, 2)] == ["Z:"]
    with pytest.raises(RasError) as e:
        r.enum_resource(ROOT, h, 2)
    assert e.value.code == ErrorCode.ERROR_NO_MORE_ITEMS
    with pytest.raises(RasError) as e:
        r.enum_resource(Caller(40001, 1), h, 2)  # another user's handle
    assert e.value.code == ErrorCode.ERROR_INVALID_HANDLE
    for name in (str(target), "Z:", "Y:"):
        await r.cancel_connection(ROOT, name, 0, True)
    assert target.is_dir() and not any(target.iterdir())


async def test_remembered_restored_without_notifyees_then_forgotten(
    mpr_factory: Any, smbd: Any, mpr_home: Path
) -> None:
    (smbd.share_dir / "keep.txt").write_text("kept")
    cfg, log = with_notifyee(mpr_home)
    svc = await mpr_factory(cfg)
    r = svc.router
    await r.add_connection(
        ROOT, disk(smbd.unc, "X:"), smbd.password, smbd.user, nr.CONNECT_UPDATE_PROFILE
    )
    await r.add_connection(
        ROOT, disk(smbd.unc, "W:"), smbd.password, smbd.user, nr.CONNECT_TEMPORARY
    )
    await r.add_connection(
        ROOT, disk(smbd.unc, None), smbd.password, smbd.user, nr.CONNECT_UPDATE_PROFILE
    )
    # Only the device connection made with CONNECT_UPDATE_PROFILE is remembered.
    assert [(e.local_name, e.remote_name, e.user, e.provider) for e in svc.remembered.list()] == [
        ("X:", smbd.unc, smbd.user, "openras SMB")
    ]
    # The saved password is in the store, never in what the API shows.
    assert svc.remembered.list()[0].password == smbd.password
    assert "password" not in json.dumps(svc.remembered.list()[0].to_json()).replace(
        "have_password", ""
    )
    assert smbd.password not in repr(svc.remembered.list()[0])
    assert oct(os.stat(svc.ctx.paths.database).st_mode & 0o777) == "0o600"
    assert len(calls(log)) == 6
    await svc.stop()  # daemon shutdown: no cancel notifications
    assert len(calls(log)) == 6

    again = await mpr_factory(cfg)  # a restart on the same store
    rows = again.router.list_connections(ROOT)
    assert [(x["status"], x["local_name"]) for x in rows] == [("OK", "X:")]
    mount = again.ctx.paths.state / "drives" / "0" / "X"
    assert (mount / "keep.txt").read_text() == "kept"
    assert len(calls(log)) == 6  # the restore called nobody
    ev = [
        e
        for e in logged_events(again.ctx.store)
        if e["kind"] == "net" and e["action"] == "restored"
    ]
    assert [e["local_name"] for e in ev] == ["X:"]

    # Cancel without CONNECT_UPDATE_PROFILE keeps the entry: it shows as Unavailable.
    await again.router.cancel_connection(ROOT, "X:", 0, True)
    assert [(x["status"], x["local_name"]) for x in again.router.list_connections(ROOT)] == [
        ("Unavailable", "X:")
    ]
    with pytest.raises(MprError) as e:
        await again.router.get_connection(ROOT, "X:")
    assert (
        e.value.code == ErrorCode.ERROR_CONNECTION_UNAVAIL
        and e.value.extra["remote_name"] == smbd.unc
    )
    # The remembered X: belongs to that remote name: another one is 1202, nobody notified.
    before = len(calls(log))
    other = smbd.unc.replace(smbd.share, "other")
    with pytest.raises(RasError) as e:
        await again.router.add_connection(ROOT, disk(other, "X:"), smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_DEVICE_ALREADY_REMEMBERED
    # Without the flag, cancelling a remembered-not-connected name is "not connected"...
    with pytest.raises(RasError) as e:
        await again.router.cancel_connection(ROOT, "X:", 0, False)
    assert e.value.code == ErrorCode.ERROR_NOT_CONNECTED
    assert len(calls(log)) == before
    # ...with CONNECT_UPDATE_PROFILE it forgets it (a cancel operation: notified).
    out = await again.router.cancel_connection(ROOT, "X:", nr.CONNECT_UPDATE_PROFILE, False)
    assert out["forgotten"] is True and out["provider"] == "openras SMB"
    assert [c[0] for c in calls(log)[before:]] == ["cancel", "cancel"]
    await again.stop()

    third = await mpr_factory(cfg)
    assert third.router.list_connections(ROOT) == [] and third.remembered.list() == []


async def test_cancel_update_profile_forgets_a_connected_one(mpr_factory: Any, smbd: Any) -> None:
    svc = await mpr_factory()
    r = svc.router
    await r.add_connection(
        ROOT, disk(smbd.unc, "V:"), smbd.password, smbd.user, nr.CONNECT_UPDATE_PROFILE
    )
    h = await r.open_enum(ROOT, nr.RESOURCE_REMEMBERED)
    assert [(i.lpLocalName, i.lpRemoteName, i.dwScope) for i in r.enum_resource(ROOT, h, 10)] == [
        ("V:", smbd.unc, nr.RESOURCE_REMEMBERED)
    ]
    await r.cancel_connection(ROOT, "V:", nr.CONNECT_UPDATE_PROFILE, True)
    assert svc.remembered.list() == [] and r.list_connections(ROOT) == []
    await svc.stop()
    again = await mpr_factory()
    assert again.router.list_connections(ROOT) == []


async def test_users_see_only_their_own(mpr_factory: Any, smbd: Any, mpr_home: Path) -> None:
    svc = await mpr_factory()
    r = svc.router
    alice = Caller(40001, 10)
    await r.add_connection(ROOT, disk(smbd.unc, None), smbd.password, smbd.user)
    assert r.list_connections(alice) == []
    with pytest.raises(RasError) as e:
        await r.cancel_connection(alice, smbd.unc)
    assert e.value.code == ErrorCode.ERROR_NOT_CONNECTED
    with pytest.raises(RasError) as e:
        await r.cancel_connection(alice, "Z:", uid=0)
    assert e.value.code == ErrorCode.ERROR_ACCESS_DENIED
    # A directory that is not the caller's: access denied, before any provider.
    d = mpr_home / "roots"
    d.mkdir()
    with pytest.raises(RasError) as e:
        await r.add_connection(alice, disk(smbd.unc, str(d)), smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_ACCESS_DENIED
    assert len(r.list_connections(ROOT, all_users=True)) == 1
    await r.cancel_connection(ROOT, smbd.unc)


async def test_compatibility_forms_remember_and_forget(mpr_factory: Any, smbd: Any) -> None:
    """WNetAddConnection is documented as persistent; WNetCancelConnection forgets again: both
    are their ...2 forms with CONNECT_UPDATE_PROFILE (what win32wnet sends)."""
    svc = await mpr_factory()
    r = svc.router
    url = f"smb://{smbd.user}@{smbd.host}:{smbd.port}/{smbd.share}"  # no user parameter: the URL's
    resource = NETRESOURCE(dwType=nr.RESOURCETYPE_DISK, lpRemoteName=url, lpLocalName="U:")
    await r.add_connection(ROOT, resource, smbd.password, None, nr.CONNECT_UPDATE_PROFILE)
    assert [(e.local_name, e.user) for e in svc.remembered.list()] == [("U:", smbd.user)]
    await r.cancel_connection(ROOT, "U:", nr.CONNECT_UPDATE_PROFILE, False)
    assert svc.remembered.list() == [] and r.list_connections(ROOT) == []
