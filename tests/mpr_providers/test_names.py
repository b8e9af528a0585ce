"""Remote-name parsing: UNC, smb://, sftp:// and the codes for malformed or foreign names."""

from __future__ import annotations

import pytest

from openras.codes import WN, ErrorCode, RasError
from openras.mpr.providers.names import parse_for, parse_remote_name


@pytest.mark.parametrize(
    ("text", "host", "port", "share", "path"),
    [
        (r"\\server\share", "server", None, "share", ""),
        ("\\\\server\\share\\", "server", None, "share", ""),
        (r"\\server\share\dir\file.txt", "server", None, "share", "dir/file.txt"),
        (r"\\127.0.0.1@1445\data", "127.0.0.1", 1445, "data", ""),
        (r"\\[::1]@1445\data\x", "::1", 1445, "data", "x"),
        ("//server/share/a", "server", None, "share", "a"),
        ("smb://host/share", "host", None, "share", ""),
        ("smb://host:1445/share/a/b", "host", 1445, "share", "a/b"),
        ("SMB://host/sh%20are", "host", None, "sh are", ""),
    ],
)
def test_smb_names(text: str, host: str, port: int | None, share: str, path: str) -> None:
    name = parse_for(text, "smb")
    assert (name.scheme, name.host, name.port, name.share, name.path) == (
        "smb",
        host,
        port,
        share,
        path,
    )


def test_unc_rendering() -> None:
    assert parse_remote_name("smb://h:99/s/a/b").unc() == r"\\h\s\a\b"
    assert parse_remote_name(r"\\h@99\s\a").unc(with_path=False) == r"\\h\s"


@pytest.mark.parametrize(
    ("text", "user", "host", "port", "path"),
    [
        ("sftp://alice@host/srv/data", "alice", "host", None, "/srv/data"),
        ("sftp://alice@127.0.0.1:2222/", "alice", "127.0.0.1", 2222, "~"),
        ("sftp://host", None, "host", None, "~"),
        ("sftp://bob@host/~/docs", "bob", "host", None, "~/docs"),
        ("sftp://b%40x@[::1]:22/tmp", "b@x", "::1", 22, "/tmp"),
    ],
)
def test_sftp_names(text: str, user: str | None, host: str, port: int | None, path: str) -> None:
    name = parse_for(text, "sftp")
    assert (name.user, name.host, name.port, name.path) == (user, host, port, path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        r"\\server",
        r"\\server\\share",
        r"\\\share",
        r"\\ser ver\share",
        r"\\host@99999\s",
        r"\\host@x\s",
        r"\\host\sh*are",
        r"\\host\share\..\x",
        r"\\host\IPC$",
        "smb://host",
        "smb://host/",
        "smb://u:pw@host/share",
        "smb://host:0/share",
        "smb://host:x/s",
        "sftp://u:pw@host/x",
        "sftp:///x",
        "sftp://host/a/../b",
        "http://host/x",
        "C:\\dir",
        "relative/path",
        "smb://host/s?x=1",
    ],
)
def test_malformed_names(text: str) -> None:
    with pytest.raises(RasError) as info:
        parse_remote_name(text)
    assert info.value.code == ErrorCode.ERROR_BAD_NET_NAME


def test_foreign_scheme_declined() -> None:
    with pytest.raises(RasError) as info:
        parse_for("sftp://u@h/x", "smb")
    assert info.value.code == WN.WN_BAD_NETNAME
    with pytest.raises(RasError) as info:
        parse_for(r"\\h\s", "sftp")
    assert info.value.code == WN.WN_BAD_NETNAME


def test_password_not_in_error_text() -> None:
    with pytest.raises(RasError) as info:
        parse_remote_name("smb://u:hunter2@host/share")
    # The name as written is echoed in the detail; callers must not pass passwords in names,
    # and the refusal says so.
    assert "password" in info.value.detail
