"""OpenVPN link benchmark: openras's OpenVPN device vs a bare openvpn, same config, same server,
same run.

Real peers from tests/peers/openvpn.py: an OpenVPN server in one network namespace, the client
side (the openras daemon, or the bare openvpn) in another, joined by a veth pair.

1. Dial → Connected, alternating rounds:
   - openras: API dial → the Connected notification (config rewrite, process start, management
     dialogue, resolver file included), measured by this process;
   - bare: ``openvpn --config`` started by a small driver *inside* the client namespace (no
     ``ip netns exec`` in the figure) that does what a minimal management client does —
     listens on a unix socket (``--management-client``), ``state on``, ``hold release``, answers
     the password — from process start to ``>STATE:…,CONNECTED,SUCCESS``.
2. Bulk TCP download through the tunnel (a sender in the server namespace on 10.8.0.1, a
   receiver in the client namespace timing connect → last byte), once per round on each tunnel.

Goals: dial ratio ≤ 1.1×, throughput ratio ≥ 0.95×.
Run as root:  PYTHONPATH=src:tests .venv/bin/python bench/openvpn_link.py [--rounds 8] [--mib 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _setup import create_entry, median
from peers.openvpn import TUNNEL_SERVER_IP, OpenVpnServer
from vpn.openvpn_lab import DAEMON_CONFIG, VpnDaemon

BULK_PORT = 5201

# Runs inside the client namespace: one bare openvpn up, its dial time printed, down on "stop".
BARE = r"""
import asyncio, json, os, sys, tempfile, time
from pathlib import Path

def q(s): return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

async def main(config, user, password):
    sock = os.path.join(tempfile.mkdtemp(), "m.sock")
    loop = asyncio.get_running_loop()
    conn = loop.create_future()
    server = await asyncio.start_unix_server(lambda r, w: conn.set_result((r, w)), sock)
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        "openvpn", "--config", config, "--management", sock, "unix", "--management-client",
        "--management-hold", "--management-query-passwords", "--auth-nocache", "--verb", "3",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        cwd=str(Path(config).parent))
    reader, writer = await conn
    writer.write(b"state on\nhold release\n")
    buf = b""
    while True:
        data = await reader.read(65536)
        assert data, "openvpn closed the management socket"
        buf += data
        *lines, buf = buf.split(b"\n")
        done = False
        for line in lines:
            if line.startswith(b">PASSWORD:Need 'Auth'"):
                writer.write(f'username "Auth" {q(user)}\npassword "Auth" {q(password)}\n'.encode())
            elif b",CONNECTED,SUCCESS" in line and line.startswith(b">STATE:"):
                done = True
        if done:
            break
    print(json.dumps({"dial": time.monotonic() - t0}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # wait for "stop"
    writer.write(b"signal SIGTERM\n")
    await proc.wait()
    server.close()

user, password = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
asyncio.run(main(sys.argv[1], user, password))
"""

SENDER = r"""
import socket, struct, sys
port = int(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", port)); srv.listen(8)
print("ready", flush=True)
block = b"\0" * (1 << 20)
while True:
    c, _ = srv.accept()
    try:
        (left,) = struct.unpack("!Q", c.recv(8, socket.MSG_WAITALL))  # the receiver says how much
        while left:
            left -= c.send(block[:min(left, len(block))])
    except OSError:
        pass
    c.close()
"""

RECEIVER = r"""
import socket, struct, sys, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.monotonic()
s = socket.create_connection((host, port), timeout=60)
s.sendall(struct.pack("!Q", size))
buf = bytearray(1 << 20); got = 0
while got < size:
    n = s.recv_into(buf)
    if not n: break
    got += n
print(time.monotonic() - t0 if got == size else -1)
"""


def ns_cmd(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def receive(server: OpenVpnServer, size: int) -> float:
    r = subprocess.run(
        ns_cmd(
            server.client_ns,
            [sys.executable, "-c", RECEIVER, TUNNEL_SERVER_IP, str(BULK_PORT), str(size)],
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = float(r.stdout.strip() or -1)
    assert r.returncode == 0 and seconds > 0, r.stderr
    return seconds


def openras_round(daemon: VpnDaemon, server: OpenVpnServer, size: int) -> tuple[float, float]:
    from openras.client.ras import Ras

    ras = Ras(daemon.client())
    t0 = time.monotonic()
    started = ras.dial("bench", user=server.user, password=server.password)
    final = list(ras.notifications(started.handle, started.seq))[-1]
    dial = time.monotonic() - t0
    assert final.state.name == "Connected" and final.error == 0, final
    bulk = receive(server, size)
    ras.hangup(started.handle)
    assert ras.wait_gone(started.handle)
    wait_no_client(server)
    return dial, bulk


def bare_round(server: OpenVpnServer, config: str, size: int) -> tuple[float, float]:
    proc = subprocess.Popen(
        ns_cmd(server.client_ns, [sys.executable, "-c", BARE, config]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{server.user}\n{server.password}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    dial = json.loads(line)["dial"]
    bulk = receive(server, size)
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    proc.wait(30)
    wait_no_client(server)
    return dial, bulk


def wait_no_client(server: OpenVpnServer) -> None:
    deadline = time.monotonic() + 10
    while server.openvpn_pids(server.client_ns) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # let the server notice the client left (same starting point every round)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--mib", type=int, default=64)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces, TUN)")
    size = args.mib << 20

    server = OpenVpnServer()
    server.start()
    # The server pushes keepalive 1 3: a 20 s dial bound is plenty.
    daemon = VpnDaemon(DAEMON_CONFIG, netns=server.client_ns)
    sender = None
    try:
        daemon.start()
        config = str(server.client_config())
        create_entry(
            daemon,
            "bench",
            [
                ["MEDIA", "none"],
                ["DEVICE", "vpn"],
                ["VpnStrategy", "OpenVpn"],
                ["OpenVpnConfig", config],
            ],
        )
        sender = subprocess.Popen(
            ns_cmd(server.server_ns, [sys.executable, "-c", SENDER, str(BULK_PORT)]),
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
        openras_round(daemon, server, 1 << 20)  # warm-up of both paths (imports, page cache)
        bare_round(server, config, 1 << 20)
        ours: list[tuple[float, float]] = []
        bare: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            ours.append(openras_round(daemon, server, size))
            bare.append(bare_round(server, config, size))
    finally:
        if sender is not None:
            from peers.procs import stop_tree

            stop_tree(sender)
        daemon.cleanup()
        server.cleanup()

    d_ours, d_bare = median([d for d, _ in ours]), median([d for d, _ in bare])
    t_ours = size / median([b for _, b in ours]) / 1e6
    t_bare = size / median([b for _, b in bare]) / 1e6
    print(f"OpenVPN (UDP, AES-256-GCM, tls-crypt) in network namespaces, {args.rounds} rounds, p50")
    print(f"  bare openvpn: start → CONNECTED        {d_bare * 1e3:8.1f} ms  1.00x")
    print(
        f"  openras: dial → Connected              {d_ours * 1e3:8.1f} ms"
        f"  {d_ours / d_bare:5.2f}x  (goal ≤ 1.10x)"
    )
    print(f"  all rounds (ms) bare    {[round(d * 1e3, 1) for d, _ in bare]}")
    print(f"  all rounds (ms) openras {[round(d * 1e3, 1) for d, _ in ours]}")
    print(f"Bulk TCP download of {args.mib} MiB through the tunnel, p50")
    print(f"  bare openvpn tunnel                    {t_bare:8.1f} MB/s  1.00x")
    print(
        f"  openras tunnel                         {t_ours:8.1f} MB/s"
        f"  {t_ours / t_bare:5.2f}x  (goal ≥ 0.95x)"
    )


if __name__ == "__main__":
    main()
