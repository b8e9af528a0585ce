"""`openras net use DIR REMOTE` for an SMB share and an SFTP path: ordinary programs (cp, cat, ls)
in separate processes use the mount; cancelling removes it; errors carry their codes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest


def mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")


def _round_trip(
    d: Any, mount: Path, remote: str, password: str, user: str, server_side: Path, tmp_path: Path
) -> None:
    r = d.cli("net", "use", str(mount), remote, password, f"/USER:{user}")
    assert r.returncode == 0, r.stderr + d.log()
    assert mounted(mount)
    src = tmp_path / "in.txt"
    src.write_text("copied in by cp\n")
    assert subprocess.run(["cp", str(src), str(mount / "copied.txt")], timeout=30).returncode == 0
    cat = subprocess.run(
        ["cat", str(mount / "copied.txt")], capture_output=True, text=True, timeout=30
    )
    assert cat.stdout == "copied in by cp\n"
    assert (
        "copied.txt"
        in subprocess.run(["ls", str(mount)], capture_output=True, text=True, timeout=30).stdout
    )
    assert (
        server_side / "copied.txt"
    ).read_text() == "copied in by cp\n"  # it really reached the server
    r = d.cli("net", "use", str(mount), "/DELETE")
    assert r.returncode == 0, r.stderr
    assert not mounted(mount)


def test_smb_share_on_a_directory(daemon_factory: Any, smbd: Any, tmp_path: Path) -> None:
    d = daemon_factory()
    _round_trip(d, tmp_path / "smb", smbd.unc, smbd.password, smbd.user, smbd.share_dir, tmp_path)
    wrong = d.cli("net", "use", str(tmp_path / "smb2"), smbd.unc, "wrong", f"/USER:{smbd.user}")
    assert wrong.returncode != 0 and "1326" in wrong.stderr + wrong.stdout
    unknown = d.cli(
        "net",
        "use",
        str(tmp_path / "smb3"),
        smbd.unc.rsplit("\\", 1)[0] + "\\nosuchshare",
        smbd.password,
        f"/USER:{smbd.user}",
    )
    assert unknown.returncode != 0 and "67" in unknown.stderr + unknown.stdout


def test_sftp_path_on_a_directory(daemon_factory: Any, sshd: Any, tmp_path: Path) -> None:
    d = daemon_factory(f'[mpr.sftp]\nknown_hosts = "{sshd.known_hosts}"\n')
    (sshd.home / "files").mkdir()
    os.chown(sshd.home / "files", sshd.uid, sshd.gid)
    remote = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}{sshd.home}/files"
    _round_trip(
        d, tmp_path / "sftp", remote, sshd.password, sshd.user, sshd.home / "files", tmp_path
    )
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "occupied").write_text("x")
    busy = d.cli("net", "use", str(taken), remote, sshd.password, f"/USER:{sshd.user}")
    assert busy.returncode != 0 and "85" in busy.stderr + busy.stdout
