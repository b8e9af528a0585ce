"""Sequential read throughput: a file through the openras FUSE mount vs `smbclient get`.

Usage: .venv/bin/python bench/mpr_read.py [SIZE_MB]   (root; starts its own smbd on loopback)

Both read the same file from the same Samba smbd; the mount is read by `dd` in a separate
process with the kernel's page cache dropped for that file first (a fresh mount, then
`dd iflag=direct` is not used so the kernel's readahead behaves as for ordinary programs).
"""

from __future__ import annotations

# A benchmark script: blocking set-up in main() is fine, the mount is served by its own process.
# ruff: noqa: ASYNC230, ASYNC240
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.smbd import start_smbd

from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbProvider


def timed(argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600
    )
    return time.monotonic() - started


async def main(size_mb: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="openras-bench-"))
    base.chmod(0o755)
    server = start_smbd(base)
    try:
        big = server.share_dir / "big.bin"
        with open(big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(size_mb):
                f.write(chunk)
        os.chown(big, server.uid, server.uid)
        auth = base / "auth"
        auth.write_text(f"username = {server.user}\npassword = {server.password}\n")
        auth.chmod(0o600)
        smbclient_s = timed(
            [
                "smbclient",
                f"//{server.host}/{server.share}",
                "-p",
                str(server.port),
                "-A",
                str(auth),
                "-c",
                "get big.bin /dev/null",
            ]
        )
        conn = await SmbProvider().connect(
            ConnectRequest(server.unc, server.user, server.password, base / "mnt", os.geteuid(), {})
        )
        try:
            fuse_s = timed(["dd", f"if={base / 'mnt' / 'big.bin'}", "of=/dev/null", "bs=1M"])
        finally:
            await conn.close(force=True)
        mb = float(size_mb)
        print(f"{'reader':<16}{'seconds':>10}{'MB/s':>10}")
        print(f"{'smbclient get':<16}{smbclient_s:>10.2f}{mb / smbclient_s:>10.1f}")
        print(f"{'FUSE mount (dd)':<16}{fuse_s:>10.2f}{mb / fuse_s:>10.1f}")
        print(f"ratio FUSE/smbclient throughput: {smbclient_s / fuse_s:.2f}")
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 128))
