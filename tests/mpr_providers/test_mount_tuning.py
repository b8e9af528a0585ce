"""The mount's read tuning, against a real smbd and FUSE: the kernel read-ahead of our own
mount is widened (and nobody else's device is touched), and the mount process' heap keeps
1 MiB read buffers instead of faulting fresh pages in for each one."""

# Blocking file calls in the async test are deliberate: the mount is served by its own process.
# ruff: noqa: ASYNC230

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from peers import require
from peers.smbd import Smbd
from test_smb_reads import drop_page_cache, fuse, put  # noqa: F401 - fuse is a fixture

from openras.mpr.mount import MountConnection, is_mount_point
from openras.mpr.mount.readahead import READ_AHEAD_KIB, bdi_path
from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbProvider

MIB = 1 << 20
SRC = Path(__file__).resolve().parents[2] / "src"


async def test_read_ahead_of_the_mount_only(smbd: Smbd, tmp_path: Path, fuse: None) -> None:  # noqa: F811
    require(os.geteuid() == 0, "widening a mount's read-ahead needs root (sysfs)")
    data = os.urandom(9 * MIB + 4321)  # more than the read-ahead window, not a multiple of it
    put(smbd, "seq.bin", data)
    mp = tmp_path / "mnt"
    assert bdi_path(tmp_path) is None  # not a mount of ours: left alone
    assert bdi_path(Path("/")) is None
    conn = await SmbProvider().connect(
        ConnectRequest(smbd.unc, smbd.user, smbd.password, mp, os.geteuid(), {})
    )
    assert isinstance(conn, MountConnection)
    try:
        control = bdi_path(mp)
        assert control is not None
        assert (
            control.parent.name == f"{os.major(os.stat(mp).st_dev)}:{os.minor(os.stat(mp).st_dev)}"
        )
        assert int(control.read_text()) == READ_AHEAD_KIB
        # Read sequentially in 1 MiB requests (the wider window), twice with the cache
        # dropped in between: the bytes are the file's each time.
        target = mp / "seq.bin"
        for _ in range(2):
            drop_page_cache(target)
            with open(target, "rb", buffering=0) as f:
                got = bytearray()
                while piece := f.read(MIB):
                    got += piece
            assert bytes(got) == data
    finally:
        await conn.close(force=True)
    assert not is_mount_point(mp)


def _page_faults(tuned: bool) -> int:
    """Minor page faults of a fresh process allocating and freeing 1 MiB buffers 20 times."""
    script = textwrap.dedent(
        f"""
        import resource
        from openras.mpr.mount.heap import keep_read_buffers
        if {tuned!r}:
            assert keep_read_buffers()
        def cycle():
            buffers = [bytearray(1 << 20) for _ in range(6)]  # a window's worth, alive at once
            del buffers
        cycle()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            cycle()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(out.stdout)


def test_read_buffers_are_reused() -> None:
    require(os.confstr("CS_GNU_LIBC_VERSION") is not None, "mallopt thresholds are glibc's")
    untuned = _page_faults(False)
    if untuned < 20 * MIB // 4096:
        pytest.skip(f"this C library reuses 1 MiB blocks by itself ({untuned} faults)")
    # One buffer is 256 pages: tuned, the 120 buffers are served without a single new page.
    assert _page_faults(True) < 256
