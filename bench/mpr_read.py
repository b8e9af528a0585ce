"""Sequential read throughput: a file through the openras FUSE mount vs a bare smbprotocol read.

Usage: .venv/bin/python bench/mpr_read.py [SIZE_MB] [--rounds N]   (root; starts its own smbd)

All readers read the same file from the same Samba smbd, in the same run, alternating, after
one warm-up read (so smbd serves every reader from its page cache):

- bare smbprotocol: an open session and tree (set up outside the timed part), the file read
  from start to end in 1 MiB requests (the mount's own SMB read size), one request at a time,
  as a plain program using smbprotocol would;
- FUSE mount: `dd bs=1M` of the file in a separate process, on a fresh open of a mount set up
  outside the timed part (the kernel's page cache for the mount is dropped before each round);
- `smbclient get`, its transfer only: the "average" rate smbclient prints itself, without its
  process start-up, connection and authentication.
"""

from __future__ import annotations

# A benchmark script: blocking set-up in main() is fine, the mount is served by its own process.
# ruff: noqa: ASYNC230, ASYNC240
import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.smbd import Smbd, start_smbd

from openras.mpr.providers.base import ConnectRequest
from openras.mpr.providers.smb import SmbProvider

READ_SIZE = 1 << 20


def bare_read(server: Smbd, name: str) -> float:
    """Seconds to read the file sequentially with smbprotocol, one 1 MiB request at a time."""
    import smbclient

    cache: dict = {}
    kwargs = {
        "username": server.user,
        "password": server.password,
        "port": server.port,
        "connection_cache": cache,
    }
    smbclient.register_session(server.host, auth_protocol="ntlm", **kwargs)
    path = rf"\\{server.host}\{server.share}\{name}"
    try:
        with smbclient.open_file(path, mode="rb", buffering=0, **kwargs) as f:
            t0 = time.monotonic()
            while f.read(READ_SIZE):
                pass
            return time.monotonic() - t0
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)


def fuse_read(path: Path) -> float:
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the mount's page cache, not smbd's
    os.close(fd)
    t0 = time.monotonic()
    subprocess.run(
        ["dd", f"if={path}", "of=/dev/null", "bs=1M"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    return time.monotonic() - t0


def smbclient_rate(server: Smbd, auth: Path, name: str) -> float:
    """smbclient's own transfer rate (MB/s) for `get`, as it prints it (KiB/s, average)."""
    out = subprocess.run(
        [
            "smbclient",
            f"//{server.host}/{server.share}",
            "-p",
            str(server.port),
            "-A",
            str(auth),
            "-c",
            f"get {name} /dev/null",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    match = re.search(r"average ([0-9.]+) KiloBytes/sec", out.stdout + out.stderr)
    if not match:
        raise RuntimeError(f"no rate in smbclient's output: {out.stdout!r} {out.stderr!r}")
    return float(match.group(1)) * 1024 / 1e6


def _rates(mb: float, seconds: list[float]) -> str:
    return " ".join(f"{mb / s:.0f}" for s in seconds)


async def main(size_mb: int, rounds: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="openras-bench-"))
    base.chmod(0o755)
    server = start_smbd(base)
    try:
        big = server.share_dir / "big.bin"
        with open(big, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        os.chown(big, server.uid, server.uid)
        auth = base / "auth"
        auth.write_text(f"username = {server.user}\npassword = {server.password}\n")
        auth.chmod(0o600)
        conn = await SmbProvider().connect(
            ConnectRequest(server.unc, server.user, server.password, base / "mnt", os.geteuid(), {})
        )
        bare, fuse, smbclient = [], [], []
        try:
            await asyncio.to_thread(bare_read, server, "big.bin")  # warm-up: smbd's page cache
            for _ in range(rounds):
                bare.append(await asyncio.to_thread(bare_read, server, "big.bin"))
                fuse.append(await asyncio.to_thread(fuse_read, base / "mnt" / "big.bin"))
                smbclient.append(await asyncio.to_thread(smbclient_rate, server, auth, "big.bin"))
        finally:
            await conn.close(force=True)
        mb = size_mb * (1 << 20) / 1e6
        bare_mbs = mb / statistics.median(bare)
        fuse_mbs = mb / statistics.median(fuse)
        # Rounds run back to back: the ratio within a round sees the same machine load.
        paired = statistics.median(b / f for b, f in zip(bare, fuse, strict=True))
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"Sequential read of a {size_mb} MiB file, same smbd (median of {rounds} rounds)")
        print(f"  {'reader':<34}{'MB/s':>8}")
        print(f"  {'bare smbprotocol, 1 MiB reads':<34}{bare_mbs:>8.1f}  1.00x")
        print(f"  {'FUSE mount (dd bs=1M)':<34}{fuse_mbs:>8.1f}  {fuse_mbs / bare_mbs:.2f}x")
        print(
            f"  {'smbclient get (its transfer only)':<34}{statistics.median(smbclient):>8.1f}"
            f"  {statistics.median(smbclient) / bare_mbs:.2f}x"
        )
        print(f"  FUSE / bare within each round: median {paired:.2f}x")
        print(f"  MB/s per round: bare {_rates(mb, bare)}; FUSE {_rates(mb, fuse)}")
        print(f"  load average at the end (1 / 5 / 15 min): {load}")
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("size_mb", nargs="?", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.size_mb, args.rounds))
