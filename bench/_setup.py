"""Shared set-up for benchmarks: real peers from tests/peers and the daemon harness."""

from __future__ import annotations

import os
import socket
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import Daemon
from peers.http import HttpServer
from peers.sshd import Sshd

__all__ = ["Daemon", "HttpServer", "Sshd", "percentile", "rss_kib", "socks_get", "use_daemon"]


def use_daemon(daemon: Daemon) -> None:
    """Point win32ras and the client library of this process at ``daemon``."""
    os.environ["OPENRAS_HOME"] = str(daemon.home)
    from openras import win32ras

    win32ras._client = None


def create_entry(daemon: Daemon, name: str, lines: list[list[str]]) -> None:
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": name, "lines": lines})


def ssh_key_entries(daemon: Daemon, sshd: Any, count: int) -> int:
    """Entries link0..link{count-1} dialing ``sshd`` with its key, one per link (dials of the
    same entry would share one handle); returns the daemon's pid."""
    with daemon.client() as c:
        pid = int(c.call("GET", "/v1/health")["pid"])
        for i in range(count):
            c.call(
                "POST",
                "/v1/entries",
                json={
                    "name": f"link{i}",
                    "lines": [
                        ["DEVICE", "ssh"],
                        ["PhoneNumber", f"127.0.0.1:{sshd.port}"],
                        ["SshKnownHosts", str(sshd.known_hosts)],
                        ["SshKey", str(sshd.client_key)],
                    ],
                },
            )
    return pid


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def socks_get(socks_port: int, http_port: int, path: str = "/", timeout: float = 5.0) -> bytes:
    """One HTTP GET through a SOCKS5 proxy (no auth), by hand: readiness = this succeeds."""
    with socket.create_connection(("127.0.0.1", socks_port), timeout=timeout) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            raise ConnectionError("SOCKS greeting refused")
        s.sendall(
            b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", http_port)
        )
        reply = s.recv(10)
        if len(reply) < 2 or reply[1] != 0:
            raise ConnectionError(f"SOCKS connect failed: {reply!r}")
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def wait_socks(socks_port: int, http_port: int, deadline: float) -> None:
    while True:
        try:
            socks_get(socks_port, http_port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)
