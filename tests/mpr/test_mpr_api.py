"""The /v1/net API over a Unix socket: win32wnet (pywin32 signatures), ``openras net use``, and
the raw error bodies (codes, notifyee_errors), against the real smbd."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from openras.cli import net
from openras.client import ApiError, Client
from openras.codes import ErrorCode


@pytest.fixture
def wnet(api_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from openras import win32wnet

    monkeypatch.setattr(win32wnet, "_client", None)
    return win32wnet


def test_win32wnet_round_trip(api_server: Any, wnet: Any, smbd: Any) -> None:
    server = api_server()
    (smbd.share_dir / "f.txt").write_text("via win32wnet")
    r = wnet.NETRESOURCE()
    r.dwType = wnet.RESOURCETYPE_DISK
    r.lpLocalName = "M:"
    r.lpRemoteName = smbd.unc
    wnet.WNetAddConnection2(r, smbd.password, smbd.user, wnet.CONNECT_UPDATE_PROFILE)
    assert wnet.WNetGetConnection("m:") == smbd.unc
    assert wnet.WNetGetUser("M:") == smbd.user
    assert (server.home / "drives" / "0" / "M" / "f.txt").read_text() == "via win32wnet"
    deviceless = wnet.NETRESOURCE()
    deviceless.lpRemoteName = smbd.url
    wnet.WNetAddConnection3(0, deviceless, smbd.password, smbd.user, 0)

    h = wnet.WNetOpenEnum(wnet.RESOURCE_CONNECTED, wnet.RESOURCETYPE_ANY, 0, None)
    seen = []
    while batch := wnet.WNetEnumResource(h, 1):
        seen += [(x.lpLocalName, x.lpRemoteName, x.lpProvider) for x in batch]
    wnet.WNetCloseEnum(h)
    assert seen == [("M:", smbd.unc, "openras SMB"), (None, smbd.url, "openras SMB")]
    with pytest.raises(wnet.error) as e:
        wnet.WNetEnumResource(h, 1)
    assert (
        e.value.winerror == ErrorCode.ERROR_INVALID_HANDLE
        and e.value.funcname == "WNetEnumResource"
    )

    h = wnet.WNetOpenEnum(wnet.RESOURCE_REMEMBERED, wnet.RESOURCETYPE_DISK, 0, None)
    assert [(x.lpLocalName, x.dwScope) for x in wnet.WNetEnumResource(h)] == [
        ("M:", wnet.RESOURCE_REMEMBERED)
    ]
    h.Close()

    # Errors are pywintypes.error-shaped: (winerror, funcname, strerror).
    with pytest.raises(wnet.error) as e:
        wnet.WNetAddConnection2(r, smbd.password, smbd.user, 0)
    assert e.value.args[:2] == (ErrorCode.ERROR_ALREADY_ASSIGNED, "WNetAddConnection2")
    assert e.value.strerror
    bad = wnet.NETRESOURCE()
    bad.lpRemoteName = smbd.unc
    bad.lpProvider = "Microsoft Windows Network"
    with pytest.raises(wnet.error) as e:
        wnet.WNetAddConnection2(bad, None, None, 0)
    assert e.value.winerror == ErrorCode.ERROR_BAD_PROVIDER
    wrong = wnet.NETRESOURCE()
    wrong.lpRemoteName = smbd.unc.replace(smbd.share, "nosuch")
    with pytest.raises(wnet.error) as e:
        wnet.WNetAddConnection2(wrong, smbd.password, smbd.user)
    assert e.value.winerror == ErrorCode.ERROR_BAD_NET_NAME
    code, text, provider = wnet.WNetGetLastError()
    assert (
        code == ErrorCode.ERROR_BAD_NET_NAME
        and provider == "openras SMB"
        and "nosuch" not in provider
        and text
    )

    wnet.WNetCancelConnection2("M:", 0, True)
    with pytest.raises(wnet.error) as e:
        wnet.WNetGetConnection("M:")
    assert e.value.winerror == ErrorCode.ERROR_CONNECTION_UNAVAIL
    wnet.WNetCancelConnection2("M:", wnet.CONNECT_UPDATE_PROFILE, False)
    with pytest.raises(wnet.error) as e:
        wnet.WNetGetConnection("M:")
    assert e.value.winerror == ErrorCode.ERROR_NOT_CONNECTED
    with pytest.raises(wnet.error) as e:
        wnet.WNetGetConnection("not a device")
    assert e.value.winerror == ErrorCode.ERROR_BAD_DEVICE
    wnet.WNetCancelConnection2(smbd.url, 0, False)
    assert server.service.router.connections == {}


def test_names_with_slashes_and_backslashes_survive_the_url(
    api_server: Any, wnet: Any, smbd: Any, mpr_home: Path
) -> None:
    api_server()
    target = mpr_home / "dir mount"
    target.mkdir()
    r = wnet.NETRESOURCE()
    r.lpLocalName = str(target)
    r.lpRemoteName = smbd.unc
    wnet.WNetAddConnection2(r, smbd.password, smbd.user)
    assert wnet.WNetGetConnection(str(target)) == smbd.unc
    r2 = wnet.NETRESOURCE()
    r2.lpRemoteName = smbd.unc
    wnet.WNetAddConnection2(r2, smbd.password, smbd.user)
    wnet.WNetCancelConnection2(smbd.unc, 0, False)  # the deviceless one only
    assert wnet.WNetGetConnection(str(target)) == smbd.unc
    wnet.WNetCancelConnection2(str(target), 0, True)


async def test_typed_client_sync_and_async(api_server: Any, smbd: Any) -> None:
    """openras.client.net: one sans-IO core, run by the sync and the asyncio client."""
    from openras.client.net import (
        AsyncNetClient,
        Connected,
        NetClient,
        NetRequests,
        RemoteConnection,
    )
    from openras.mpr.netresource import NETRESOURCE, RESOURCE_CONNECTED, RESOURCETYPE_DISK

    server = api_server()
    resource = NETRESOURCE(dwType=RESOURCETYPE_DISK, lpRemoteName=smbd.unc, lpLocalName="T:")
    with NetClient() as net:  # the server runs in its own thread: blocking here is fine
        made = net.add_connection(resource, smbd.password, smbd.user)
        assert made == Connected(
            "T:",
            smbd.unc,
            "openras SMB",
            smbd.user,
            str(server.home / "drives" / "0" / "T"),
            False,
            (),
        )
        assert net.get_user("t:") == smbd.user
        assert [p.name for p in net.providers()] == ["openras SMB", "openras SFTP"]
    async with AsyncNetClient() as anet:
        info = await anet.run(NetRequests.get_connection("t:"))
        assert info == RemoteConnection("T:", smbd.unc, "openras SMB", smbd.user, "OK")
        uses = await anet.run(NetRequests.list_connections())
        assert [(u.status, u.local_name) for u in uses.connections] == [("OK", "T:")]
        assert uses.to_json()["connections"][0]["remote_name"] == smbd.unc
        h = await anet.run(NetRequests.open_enum(RESOURCE_CONNECTED))
        assert [x.lpLocalName for x in await anet.run(NetRequests.enum_resource(h, 8))] == ["T:"]
        with pytest.raises(ApiError) as e:
            await anet.run(NetRequests.enum_resource(h))
        assert e.value.code == ErrorCode.ERROR_NO_MORE_ITEMS
        await anet.run(NetRequests.close_enum(h))
        assert (await anet.run(NetRequests.last_error())).error == ErrorCode.NO_ERROR
        gone = await anet.run(NetRequests.cancel_connection("T:", force=True))
        assert (gone.name, gone.provider, gone.forgotten) == ("T:", "openras SMB", False)
        with pytest.raises(ApiError) as e:
            await anet.run(NetRequests.get_connection("T:"))
        assert e.value.code == ErrorCode.ERROR_NOT_CONNECTED


def test_http_error_bodies_carry_codes_and_notifyee_errors(
    api_server: Any, smbd: Any, mpr_home: Path
) -> None:
    nd = mpr_home / "n"
    nd.mkdir(mode=0o755)
    bad = nd / "bad.py"
    bad.write_text("def AddConnectNotify(info, add):\n    raise RuntimeError('nope')\n")
    bad.chmod(0o644)
    api_server(f'[notifyees]\nbad = "{bad}"\n')
    with Client(autostart=False) as c:
        out = c.call(
            "POST",
            "/v1/net/connections",
            json={
                "netresource": {"lpRemoteName": smbd.unc},
                "password": smbd.password,
                "user": smbd.user,
            },
        )
        assert out["provider"] == "openras SMB" and "password" not in json.dumps(out)
        assert [(e["notifyee"], e["phase"]) for e in out["notifyee_errors"]] == [("bad", "pre")]
        with pytest.raises(ApiError) as e:
            c.call(
                "POST",
                "/v1/net/connections",
                json={"netresource": {"lpRemoteName": smbd.unc}, "flags": -1},
            )
        assert e.value.code == ErrorCode.ERROR_INVALID_PARAMETER
        with pytest.raises(ApiError) as e:
            c.call(
                "POST",
                "/v1/net/connections",
                json={"netresource": {"lpRemoteName": smbd.unc}, "bogus": 1},
            )
        assert e.value.code == ErrorCode.ERROR_INVALID_PARAMETER
        # A failure that went through the notifyees: the error body lists what they reported.
        http = c._client()
        resp = http.post(
            "/v1/net/connections",
            json={
                "netresource": {"lpRemoteName": smbd.unc.replace(smbd.share, "nosuch")},
                "password": smbd.password,
                "user": smbd.user,
            },
        )
        body = resp.json()
        assert (
            body["error"] == ErrorCode.ERROR_BAD_NET_NAME and body["name"] == "ERROR_BAD_NET_NAME"
        )
        assert [e["notifyee"] for e in body["notifyee_errors"]] == ["bad"]
        assert c.call("GET", "/v1/net/user")["user"] == "root"
        assert c.call("GET", "/v1/net/providers")[0]["name"] == "openras SMB"
        assert c.call("GET", "/v1/net/last-error")["error"] == ErrorCode.ERROR_BAD_NET_NAME
        h = c.call("POST", "/v1/net/enum", json={"dwScope": 2})["handle"]
        roots = c.call("GET", f"/v1/net/enum/{h}")["items"]
        assert [x["lpProvider"] for x in roots][:1] == ["openras SMB"] and roots[0]["dwUsage"] == 2
        with pytest.raises(ApiError) as e:
            c.call("GET", f"/v1/net/enum/{h}")
        assert e.value.code == ErrorCode.ERROR_NO_MORE_ITEMS
        c.call("DELETE", f"/v1/net/connections/{smbd.unc.replace(chr(92), '%5C')}")


def net_use(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = net.main(["use", *args])
    captured = capsys.readouterr()
    # The warning about a password given on the command line is not what these tests check.
    err = "".join(
        ln for ln in captured.err.splitlines(keepends=True) if not ln.startswith("Warning: a pass")
    )
    return code, captured.out, err


def test_net_use(api_server: Any, smbd: Any, capsys: pytest.CaptureFixture[str]) -> None:
    api_server()
    code, out, _ = net_use(capsys)
    assert (
        code == 0
        and out == "New connections will be remembered.\n\nThere are no entries in the list.\n\n"
    )
    code, out, _ = net_use(capsys, "K:", smbd.unc, smbd.password, f"/USER:{smbd.user}")
    assert code == 0 and out == "The command completed successfully.\n\n"
    code, out, _ = net_use(
        capsys, "*", smbd.unc, smbd.password, f"/user:{smbd.user}", "/persistent:no"
    )
    assert code == 0 and out.startswith(f"Drive Z: is now connected to {smbd.unc}.\n")
    code, out, _ = net_use(capsys, "K:", "/DELETE")  # cancelled; K: was persistent: forgotten too
    assert code == 0 and out == "K: was deleted successfully.\n\n"
    code, out, _ = net_use(capsys, "L:", smbd.unc, smbd.password, f"/USER:{smbd.user}", "/P:YES")
    code, out, _ = net_use(capsys)
    lines = out.splitlines()
    assert lines[0] == "New connections will be remembered."
    header = next(i for i, x in enumerate(lines) if x.startswith("Status"))
    assert lines[header] == f"{'Status':<13}{'Local':<10}{'Remote':<26}Network"
    assert lines[header + 2] == "-" * 79
    assert lines[header + 3] == f"{'OK':<13}{'L:':<10}{smbd.unc:<26}openras SMB"
    assert lines[header + 4] == f"{'OK':<13}{'Z:':<10}{smbd.unc:<26}openras SMB"
    assert lines[-2:] == ["The command completed successfully.", ""]
    # Errors as net.exe prints them, exit status 2; --json carries the code.
    code, out, err = net_use(capsys, "L:", smbd.unc, smbd.password, f"/USER:{smbd.user}")
    assert code == 2 and err.startswith("System error 85 has occurred.\n\n")
    code, out, _ = net_use(capsys, "Q:", "/DELETE", "--json")
    assert code == 2 and json.loads(out)["error"] == ErrorCode.ERROR_NOT_CONNECTED
    code, out, _ = net_use(capsys, "--json")
    assert [r["local_name"] for r in json.loads(out)["connections"]] == ["L:", "Z:"]
    code, _, err = net_use(capsys, "/BOGUS")
    assert code == 1 and "/BOGUS is unknown" in err
    code, out, _ = net_use(capsys, "*", "/DELETE", "/Y")
    assert code == 0
    code, out, _ = net_use(capsys)
    assert "There are no entries in the list." in out
    assert os.environ["OPENRAS_HOME"]
