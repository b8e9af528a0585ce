"""win32wnet called in the shapes Windows programs use, against the real smbd and sshd: every
WNetAddConnection2 form, enumeration by 1 / by the default / "all", a Samba server's container
listing its shares (NetShareEnum), the provider's top level, SFTP directories, universal
names under a mapped drive and a mapped directory."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from openras.codes import ErrorCode

EXTRA_SHARES = 70  # more than pywin32's default count of 64


@pytest.fixture
def wnet(api_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from openras import win32wnet

    monkeypatch.setattr(win32wnet, "_client", None)
    return win32wnet


def add_shares(smbd: Any) -> list[str]:
    """More shares on the running smbd: ``public`` with a comment, ``bulkNN``, a hidden one."""
    conf = smbd.dir / "smb.conf"
    text = conf.read_text()
    names = ["public"] + [f"bulk{i:02d}" for i in range(EXTRA_SHARES)]
    for name in [*names, "backup$"]:
        comment = "    comment = Public files\n" if name == "public" else ""
        text += f"\n[{name}]\n    path = {smbd.share_dir}\n    read only = yes\n{comment}"
    conf.write_text(text)
    os.kill(smbd.proc.pid, signal.SIGHUP)  # smbd re-reads its configuration
    return sorted([smbd.share, *names])


def server_of(smbd: Any) -> str:
    return rf"\\{smbd.host}@{smbd.port}"


def read_all(wnet: Any, handle: Any, count: int) -> list[list[Any]]:
    batches = []
    while batch := wnet.WNetEnumResource(handle, count):
        batches.append(batch)
    return batches


def test_add_connection2_every_pywin32_form(api_server: Any, wnet: Any, smbd: Any) -> None:
    server = api_server()
    r = wnet.NETRESOURCE()
    r.dwType = wnet.RESOURCETYPE_DISK
    r.lpRemoteName = smbd.unc
    # Keywords by pywin32's names, in any order.
    wnet.WNetAddConnection2(NetResource=r, UserName=smbd.user, Password=smbd.password, Flags=0)
    wnet.WNetCancelConnection2(smbd.unc, 0, True)
    wnet.WNetAddConnection2(r, smbd.password, UserName=smbd.user)
    wnet.WNetCancelConnection2(smbd.unc, 0, True)
    # The legacy form: (dwType, lpLocalName, lpRemoteName[, provider, user, password, flags]).
    wnet.WNetAddConnection2(
        wnet.RESOURCETYPE_DISK, None, smbd.url, "openras SMB", smbd.user, smbd.password, 0
    )
    assert [c.provider for c in server.service.router.connections.values()] == ["openras SMB"]
    wnet.WNetCancelConnection2(smbd.url, 0, True)
    # Three arguments: the provider field stays empty (the router picks) and the default
    # credentials (the caller's login name, no password) reach smbd, which refuses them.
    with pytest.raises(wnet.error) as e:
        wnet.WNetAddConnection2(wnet.RESOURCETYPE_DISK, None, smbd.unc)
    assert e.value.winerror == ErrorCode.ERROR_LOGON_FAILURE
    assert e.value.funcname == "WNetAddConnection2"
    with pytest.raises(wnet.error) as e:
        wnet.WNetAddConnection2(wnet.RESOURCETYPE_DISK, None, smbd.unc, "no such provider")
    assert e.value.winerror == ErrorCode.ERROR_BAD_PROVIDER
    with pytest.raises(TypeError):
        wnet.WNetAddConnection2(r, Passwd=smbd.password)
    with pytest.raises(TypeError):
        wnet.WNetAddConnection2(1, None, smbd.unc, None, None, None, 0, "eighth")
    assert server.service.router.connections == {}


def test_three_argument_form_connects_with_the_default_credentials(
    api_server: Any, wnet: Any, sshd: Any
) -> None:
    """``WNetAddConnection2(RESOURCETYPE_DISK, None, remote)`` as Windows code writes it: SFTP
    logs in with the configured key (root's default credentials), no user or password given."""
    server = api_server(
        f'[mpr.sftp]\nknown_hosts = "{sshd.known_hosts}"\nkey = "{sshd.client_key}"\n'
    )
    remote = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/~"
    wnet.WNetAddConnection2(wnet.RESOURCETYPE_DISK, None, remote)
    [c] = server.service.router.connections.values()
    assert (c.remote_name, c.provider, c.user) == (remote, "openras SFTP", sshd.user)
    wnet.WNetCancelConnection2(remote, 0, True)


def test_a_samba_servers_container_lists_its_shares(api_server: Any, wnet: Any, smbd: Any) -> None:
    api_server()
    shares = add_shares(smbd)
    container = wnet.NETRESOURCE()
    container.lpRemoteName = server_of(smbd)
    # Anonymously first (no connection to that server), then through the caller's connection.
    for connected in (False, True):
        if connected:
            nr = wnet.NETRESOURCE()
            nr.lpRemoteName = smbd.unc
            wnet.WNetAddConnection2(nr, smbd.password, smbd.user)
        h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, container)
        items = wnet.WNetEnumResource(h, -1)
        assert wnet.WNetEnumResource(h, -1) == []
        wnet.WNetCloseEnum(h)
        assert sorted(i.lpRemoteName for i in items) == [
            f"{server_of(smbd)}\\{s}" for s in shares
        ]  # no IPC$, no backup$
        public = next(i for i in items if i.lpRemoteName.endswith("\\public"))
        assert (public.lpComment, public.lpProvider) == ("Public files", "openras SMB")
        assert {(i.dwType, i.dwDisplayType, i.dwUsage, i.dwScope) for i in items} == {
            (
                wnet.RESOURCETYPE_DISK,
                wnet.RESOURCEDISPLAYTYPE_SHARE,
                wnet.RESOURCEUSAGE_CONNECTABLE,
                wnet.RESOURCE_GLOBALNET,
            )
        }
    wnet.WNetCancelConnection2(smbd.unc, 0, True)

    # By 1, by pywin32's default (64; 0 means the same) and "all" (-1, or 0xFFFFFFFF).
    total = len(shares)
    for count, sizes in (
        (1, [1] * total),
        (64, [64, total - 64]),
        (0, [64, total - 64]),
        (-1, [total]),
        (0xFFFFFFFF, [total]),
    ):
        h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_DISK, 0, container)
        assert [len(b) for b in read_all(wnet, h, count)] == sizes, count
        h.Close()
    h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, container)
    assert len(wnet.WNetEnumResource(h)) == 64  # the default
    h.Close()

    # Only containers: a server holds none.
    h = wnet.WNetOpenEnum(
        wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, wnet.RESOURCEUSAGE_CONTAINER, container
    )
    assert wnet.WNetEnumResource(h) == []
    share = wnet.NETRESOURCE()
    share.lpRemoteName = smbd.unc
    with pytest.raises(wnet.error) as e:
        wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, share)
    assert e.value.winerror == ErrorCode.ERROR_NOT_CONTAINER
    closed = wnet.NETRESOURCE()
    closed.lpRemoteName = rf"\\127.0.0.1@{_closed_port()}"
    with pytest.raises(wnet.error) as e:
        wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, closed)
    assert e.value.winerror == ErrorCode.ERROR_BAD_NET_NAME


def test_walking_the_network_from_the_root(api_server: Any, wnet: Any, smbd: Any) -> None:
    """The recursive walk Windows samples do: root → provider → server → shares."""
    api_server()
    nr = wnet.NETRESOURCE()
    nr.lpRemoteName = smbd.unc
    wnet.WNetAddConnection2(nr, smbd.password, smbd.user)
    found: list[tuple[int, str]] = []

    def walk(container: Any, depth: int) -> None:
        h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, container)
        try:
            for item in wnet.WNetEnumResource(h):
                found.append((depth, item.lpRemoteName))
                if item.dwUsage & wnet.RESOURCEUSAGE_CONTAINER and depth < 3:
                    walk(item, depth + 1)
        finally:
            wnet.WNetCloseEnum(h)

    walk(None, 0)
    assert (0, "openras SMB") in found and (0, "openras SFTP") in found
    assert (1, server_of(smbd)) in found
    assert (2, smbd.unc) in found
    # Bad containers are refused before anything is asked of a server.
    for remote, provider, code in (
        (server_of(smbd), "Microsoft Windows Network", ErrorCode.ERROR_BAD_PROVIDER),
        ("\\\\bad\0name", None, ErrorCode.ERROR_INVALID_PARAMETER),
        ("ftp://somewhere/", None, ErrorCode.ERROR_BAD_NET_NAME),
    ):
        bad = wnet.NETRESOURCE()
        bad.lpRemoteName, bad.lpProvider = remote, provider
        with pytest.raises(wnet.error) as e:
            wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_ANY, 0, bad)
        assert (e.value.winerror, e.value.funcname) == (code, "WNetOpenEnum"), remote
    wnet.WNetCancelConnection2(smbd.unc, 0, True)


def test_sftp_container_lists_the_directories(api_server: Any, wnet: Any, sshd: Any) -> None:
    api_server(f'[mpr.sftp]\nknown_hosts = "{sshd.known_hosts}"\nkey = "{sshd.client_key}"\n')
    for d in ("projects", "photos", ".cache", "projects/2026"):
        (sshd.home / d).mkdir()
        os.chown(sshd.home / d, sshd.uid, sshd.gid)
    (sshd.home / "notes.txt").write_text("not a directory")
    base = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}"
    container = wnet.NETRESOURCE()
    container.lpRemoteName = base + "/"
    h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_DISK, 0, container)
    items = wnet.WNetEnumResource(h, 1) + wnet.WNetEnumResource(h, 1)
    assert wnet.WNetEnumResource(h, 1) == []
    assert [i.lpRemoteName for i in items] == [f"{base}/~/photos", f"{base}/~/projects"]
    assert {(i.dwDisplayType, i.dwUsage) for i in items} == {
        (
            wnet.RESOURCEDISPLAYTYPE_DIRECTORY,
            wnet.RESOURCEUSAGE_CONNECTABLE | wnet.RESOURCEUSAGE_CONTAINER,
        )
    }
    h = wnet.WNetOpenEnum(wnet.RESOURCE_GLOBALNET, wnet.RESOURCETYPE_DISK, 0, items[1])
    assert [i.lpRemoteName for i in wnet.WNetEnumResource(h)] == [f"{base}/~/projects/2026"]


def test_universal_names_under_a_drive_and_a_directory(
    api_server: Any, wnet: Any, smbd: Any, tmp_path: Path
) -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")
    server = api_server()
    (smbd.share_dir / "docs").mkdir()
    (smbd.share_dir / "docs" / "report.txt").write_text("q3")
    wnet.WNetAddConnection2(wnet.RESOURCETYPE_DISK, "U:", smbd.unc, None, smbd.user, smbd.password)
    mapped = tmp_path / "mnt"
    wnet.WNetAddConnection2(
        wnet.RESOURCETYPE_DISK, str(mapped), smbd.url + "/docs", None, smbd.user, smbd.password
    )
    try:
        assert wnet.WNetGetUniversalName("U:\\docs\\report.txt") == smbd.unc + "\\docs\\report.txt"
        assert wnet.WNetGetUniversalName("u:/docs/report.txt", wnet.REMOTE_NAME_INFO_LEVEL) == (
            smbd.unc + "\\docs\\report.txt",
            smbd.unc,
            "\\docs\\report.txt",
        )
        assert wnet.WNetGetUniversalName("U:", 2) == (smbd.unc, smbd.unc, "\\")
        # The drive's directory and a mapped directory, as a Linux path names them.
        drive_dir = server.home / "drives" / "0" / "U"
        assert (drive_dir / "docs" / "report.txt").read_text() == "q3"
        assert wnet.WNetGetUniversalName(str(drive_dir / "docs" / "report.txt")) == (
            smbd.unc + "\\docs\\report.txt"
        )
        assert (mapped / "report.txt").read_text() == "q3"
        assert wnet.WNetGetUniversalName(str(mapped / "report.txt"), 2) == (
            smbd.url + "/docs/report.txt",
            smbd.url + "/docs",
            "/report.txt",
        )
        # WNetGetConnection takes a drive path too.
        assert wnet.WNetGetConnection("U:\\docs\\report.txt") == smbd.unc
        for path, code in (
            ("T:\\x", ErrorCode.ERROR_NOT_CONNECTED),
            (str(tmp_path / "elsewhere"), ErrorCode.ERROR_NOT_CONNECTED),
            ("relative\\path", ErrorCode.ERROR_BAD_DEVICE),
        ):
            with pytest.raises(wnet.error) as e:
                wnet.WNetGetUniversalName(path)
            assert (e.value.winerror, e.value.funcname) == (code, "WNetGetUniversalName"), path
        with pytest.raises(wnet.error) as e:
            wnet.WNetGetUniversalName("U:\\docs", 3)
        assert e.value.winerror == ErrorCode.ERROR_INVALID_LEVEL
    finally:
        wnet.WNetCancelConnection2("U:", 0, True)
        wnet.WNetCancelConnection2(str(mapped), 0, True)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
