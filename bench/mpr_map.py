"""Mapping an SMB share through the router (the daemon, win32wnet) with 0 and with 10 Python
notifyees, vs a bare smbprotocol session to the same Samba smbd, measured in the same run.

The anchor does the router's work and no more: one connection, an NTLM session set-up and a
tree connect to the share (no directory listing), torn down outside the timed part.

Each mapping is deviceless: the router's cost is what is measured (FUSE mount times are in
bench/mpr_read.py's set-up). Each round maps and cancels.

Run as root:  .venv/bin/python bench/mpr_map.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _setup import Daemon, median, use_daemon
from peers.smbd import start_smbd

NOTIFYEE = """
def AddConnectNotify(info, add):
    info.lpContext = "seen"
    return 0

def CancelConnectNotify(info, cancel):
    info.lpContext = "seen"
    return 0
"""


def bare(server: object, rounds: int) -> float:
    """The router's own work, bare: NTLM session set-up and a tree connect, no listing."""
    import smbclient
    from smbprotocol.tree import TreeConnect

    times = []
    for _ in range(rounds):
        t0 = time.monotonic()
        cache: dict = {}
        session = smbclient.register_session(
            server.host,
            username=server.user,
            password=server.password,
            port=server.port,
            connection_cache=cache,
            auth_protocol="ntlm",
        )
        TreeConnect(session, f"\\\\{server.host}\\{server.share}").connect()
        times.append(time.monotonic() - t0)
        smbclient.reset_connection_cache(connection_cache=cache)
    return median(times)


def through_router(daemon: Daemon, server: object, rounds: int) -> float:
    from openras import win32wnet

    use_daemon(daemon)
    win32wnet._client = None  # a fresh client bound to this daemon
    times = []
    remote = f"\\\\{server.host}@{server.port}\\{server.share}"
    for _ in range(rounds):
        nr = win32wnet.NETRESOURCE()
        nr.dwType = 1
        nr.lpRemoteName = remote
        t0 = time.monotonic()
        win32wnet.WNetAddConnection2(nr, server.password, server.user, 0)
        times.append(time.monotonic() - t0)
        win32wnet.WNetCancelConnection2(remote, 0, True)
    return median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="openras-bench-"))
    base.chmod(0o755)
    server = start_smbd(base)
    daemons: list[Daemon] = []
    try:
        notify_dir = base / "notifyees"
        notify_dir.mkdir(mode=0o755)
        table = []
        for i in range(10):
            path = notify_dir / f"n{i}.py"
            path.write_text(NOTIFYEE)
            os.chmod(path, 0o644)
            table.append(f'n{i} = "{path}"')
        figures = {"bare": bare(server, args.rounds)}
        for label, config in (
            ("0 notifyees", ""),
            ("10 notifyees", "[notifyees]\n" + "\n".join(table) + "\n"),
        ):
            daemon = Daemon(config).start()
            daemons.append(daemon)
            figures[label] = through_router(daemon, server, args.rounds)
            daemon.stop()
        print(f"Mapping an SMB share (deviceless, median of {args.rounds}, same smbd):")
        print(f"  {'bare session + tree connect':<37}{figures['bare'] * 1000:7.1f} ms")
        for label in ("0 notifyees", "10 notifyees"):
            print(
                f"  {'router via win32wnet, ' + label:<37}{figures[label] * 1000:7.1f} ms   "
                f"ratio to bare {figures[label] / figures['bare']:.2f}"
            )
        return 0
    finally:
        for d in daemons:
            d.cleanup()
        server.stop()
        import shutil

        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
