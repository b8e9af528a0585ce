"""openras PPP on both ends of a TUN ↔ TCP ↔ TUN link, each end in a network namespace of its
own joined by a veth pair, wired as the daemon wires its PPP device (``bench/_ppp_side.py``:
PortProtocol, PppLink, TunInterface). A download of random data through it moves in batches
of TUN packets framed at once and in TCP reads of tens to hundreds of KB decoded whole — the
data path end to end — and must arrive intact."""

from __future__ import annotations

import hashlib
import os
import secrets
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers.http import SERVER as HTTP_SERVER
from peers.procs import stop_tree

from openras.ras.link.tun import tun_unavailable_reason

SIDE = Path(__file__).resolve().parents[2] / "bench" / "_ppp_side.py"
SRC = Path(__file__).resolve().parents[2] / "src"
SERVER_VETH = "10.98.0.1"


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    if (reason := tun_unavailable_reason()) is not None:
        pytest.skip(reason)
    if shutil.which("curl") is None or shutil.which("ip") is None:
        pytest.skip("needs curl and ip")
    tag = secrets.token_hex(3)
    server, client = f"openras-pair-s{tag}", f"openras-pair-c{tag}"
    made = []
    try:
        for ns in (server, client):
            ip("netns", "add", ns)
            made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip(
            "link",
            "add",
            "ps",
            "netns",
            server,
            "type",
            "veth",
            "peer",
            "name",
            "pc",
            "netns",
            client,
        )
        ip("-n", server, "addr", "add", f"{SERVER_VETH}/24", "dev", "ps")
        ip("-n", client, "addr", "add", "10.98.0.2/24", "dev", "pc")
        ip("-n", server, "link", "set", "ps", "up")
        ip("-n", client, "link", "set", "pc", "up")
        yield server, client
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def test_download_through_openras_ppp_on_both_ends(
    namespaces: tuple[str, str], tmp_path: Path
) -> None:
    server_ns, client_ns = namespaces
    payload = os.urandom(16 << 20)
    (tmp_path / "blob.bin").write_bytes(payload)
    os.chmod(tmp_path, 0o755)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    http_server = HTTP_SERVER.replace("127.0.0.1", "0.0.0.0")
    procs: list[subprocess.Popen[str]] = []
    try:
        http = subprocess.Popen(
            in_ns(server_ns, [sys.executable, "-c", http_server, str(tmp_path)]),
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        procs.append(http)
        assert http.stdout is not None
        port = int(http.stdout.readline())
        for ns, role in ((server_ns, "server"), (client_ns, "client")):
            argv = [sys.executable, str(SIDE), "ppp", role, SERVER_VETH, "47111"]
            procs.append(
                subprocess.Popen(
                    in_ns(ns, argv),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                    start_new_session=True,
                )
            )
        for side in procs[1:]:
            assert side.stdout is not None
            ready, _, _ = select.select([side.stdout], [], [], 30)
            assert ready and side.stdout.readline().strip() == "up"
        out = tmp_path / "got.bin"
        url = f"http://10.9.0.1:{port}/blob.bin"
        got = subprocess.run(
            in_ns(client_ns, ["curl", "-s", "--max-time", "120", "-o", str(out), url]),
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert got.returncode == 0, got
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(payload).digest()
        # The receiving end got (nearly) all of it through the whole-read decoder: a read
        # under 32 KiB, or the one that brought the first data, goes frame by frame.
        client = procs[2]
        assert client.stdin is not None and client.stdout is not None
        client.stdin.close()
        client.wait(30)
        counters = dict(
            line.split(" ", 1) for line in client.stdout.read().splitlines() if " " in line
        )
        received, whole = (int(x) for x in counters["rx_packets"].split(" rx_whole_read "))
        assert received >= len(payload) // 1500
        assert whole >= received // 2, counters
    finally:
        for proc in procs:
            stop_tree(proc)
