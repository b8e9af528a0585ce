"""hostkeys: paths resolved for the dialing user, the lines `trust` writes, the two codes."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import asyncssh
import pytest

from openras import hostkeys
from openras.codes import ErrorCode, RasError

NO_SUCH_UID = 40077  # no passwd entry


def test_paths_are_the_users_not_the_daemons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the daemon's cwd must never matter
    monkeypatch.setenv("HOME", str(tmp_path))  # nor its HOME
    home = pwd.getpwuid(0).pw_dir
    assert hostkeys.resolve_for("", 0) == os.path.join(home, ".ssh/known_hosts")
    assert hostkeys.resolve_for("~", 0) == os.path.join(home, "")
    assert hostkeys.resolve_for("~/kh", 0) == os.path.join(home, "kh")
    assert hostkeys.resolve_for("kh", 0) == os.path.join(home, "kh")
    assert hostkeys.resolve_for("~root/kh", 4242) == os.path.join(home, "kh")
    assert hostkeys.resolve_for("/etc/ssh/ssh_known_hosts", NO_SUCH_UID) == (
        "/etc/ssh/ssh_known_hosts"
    )


def test_no_home_is_said(tmp_path: Path) -> None:
    with pytest.raises(RasError) as e:
        hostkeys.resolve_for("", NO_SUCH_UID)
    assert e.value.code == ErrorCode.ERROR_EAP_SERVER_ROOT_CERT_NOT_FOUND
    assert f"uid {NO_SUCH_UID} has no home directory" in e.value.detail
    with pytest.raises(RasError) as e:
        hostkeys.resolve_for("~/id", NO_SUCH_UID, "SshKey", ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK)
    assert e.value.code == ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK


def test_missing_file_and_untrusted_key_have_their_own_codes(tmp_path: Path) -> None:
    with pytest.raises(RasError) as e:
        hostkeys.load(str(tmp_path / "none"), 0, "openras entry trust lab")
    assert e.value.code == 864 and "no known-hosts file" in e.value.detail
    assert "openras entry trust lab" in e.value.detail
    key = asyncssh.generate_private_key("ssh-ed25519")
    err = hostkeys.untrusted("h", 2222, "/kh", key, "Host key is not trusted", "openras x")
    assert err.code == 857
    assert "[h]:2222 is not trusted by /kh" in err.detail
    assert key.get_fingerprint("sha256") in err.detail and "trust it with: openras x" in err.detail


def test_appended_line_is_what_asyncssh_trusts(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "sub" / "known_hosts"
    path.parent.mkdir()
    path.write_text(
        "otherhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGQ0tPDyG0BoBv9K6Xla+PzHO1SD8Bwuk3kKSkvRWz5C"
    )  # no newline
    line = hostkeys.append(str(path), "127.0.0.1", 2222, key)
    assert line.startswith("[127.0.0.1]:2222 ssh-ed25519 ")
    assert path.read_text().splitlines()[1] == line
    trusted = asyncssh.import_known_hosts(path.read_text())
    host_keys = trusted.match("127.0.0.1", "127.0.0.1", 2222)[0]
    # (matched by name and by address: the same key may come twice)
    assert {k.public_data for k in host_keys} == {key.public_data}
    assert hostkeys.append(str(tmp_path / "new" / "kh"), "h", 22, key).startswith("h ssh-ed25519")
    assert (tmp_path / "new" / "kh").stat().st_mode & 0o077 == 0
