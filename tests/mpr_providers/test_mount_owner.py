"""A root daemon's FUSE mount for another user runs as that user (issue 10, item 11): the process
serving the file system holds no privilege, and the mount is the user's own."""

# ruff: noqa: ASYNC240
from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

from peers import require
from peers.smbd import Smbd
from peers.users import run_as

from openras.mpr.mount import is_mount_point
from openras.mpr.mount.readahead import READ_AHEAD_KIB, bdi_path
from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbProvider


def _uids(pid: int) -> list[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


async def test_mount_child_runs_as_the_owner(smbd: Smbd) -> None:
    require(os.geteuid() == 0, "needs root to mount for another user")
    require(os.path.exists("/dev/fuse") and shutil.which("fusermount3"), "FUSE is not available")
    owner = pwd.getpwnam("nobody").pw_uid  # a user with a name, as fusermount3 needs
    top = Path(tempfile.mkdtemp(prefix="openras-mnt-"))
    try:
        top.chmod(0o755)
        base = top / "home"
        base.mkdir()
        os.chown(base, owner, owner)
        (smbd.share_dir / "b").write_text("theirs\n")
        req = ConnectRequest(smbd.unc, smbd.user, smbd.password, base / "mnt", owner, {})
        conn = await SmbProvider().connect(req)
        try:
            assert set(_uids(conn.proc.pid)) == {owner}  # type: ignore[attr-defined]
            read = run_as(owner, owner, ["/bin/cat", str(base / "mnt" / "b")])
            assert read.returncode == 0 and read.stdout == "theirs\n", read.stderr
            # The daemon (root) widened the read-ahead of the user's own mount too.
            control = bdi_path(base / "mnt")
            assert control is not None and int(control.read_text()) == READ_AHEAD_KIB
        finally:
            await conn.close(force=False)
        assert not is_mount_point(base / "mnt")
    finally:
        shutil.rmtree(top, ignore_errors=True)
