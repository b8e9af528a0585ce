"""PPP link benchmarks against a real slirp (in a namespace with only lo), figures side by side.

1. Dial → Connected over TCP: through the daemon (API dial → Connected notification, TUN
   included), the bare engine adapter in this process (TCP connect → IPCP up), and the
   protocol's minimum: the round trips negotiation needs with slirp × the RTT measured with
   LCP Echo-Request/Reply on an established link. Round trips: TCP connect 1, LCP 1 (slirp is
   passive: our Configure-Request and its own cross, both acked in the same trip), IPCP 2 (our
   0.0.0.0+DNS request is Nak'd with 10.0.2.15, the second one acked; slirp's own request is
   Nak'd/Rejected and acked in parallel) = 4.
2. Bulk HTTP download through a TUN ↔ TCP ↔ TUN link, MTU 1500, between two namespaces joined
   by a veth pair (bench/_ppp_side.py runs each end): openras's own PPP on both ends (the
   daemon's wiring of PortProtocol, PppLink and TunInterface) vs a bare Python asyncio relay of
   the same TUN reads with a 2-byte length per packet — the cost of PPP itself, not of a peer.
   curl in the client namespace, the HTTP server in the server one; alternating rounds. Each
   end reports the CPU time it used while its link was up: on a loaded machine the CPU per MiB
   of both ends is a steadier measure than MB/s, which depends on who else gets the cores.
3. Pure engine, in memory: HDLC framing encode/decode MB/s for 1500-byte packets (frame by
   frame in Python — the control frames' path, and the data path of a package built without a
   compiler — and the data path's batch framing and whole-read decoder, in C), and packets
   per second for 64-byte packets between two paired engines.

Run as root:  .venv/bin/python bench/ppp_link.py [--rounds 10] [--mib 64] [--bulk-rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

from _setup import Daemon, create_entry, median
from peers.http import SERVER as HTTP_SERVER
from peers.slirp import Slirp

CONFIG = """
[daemon]
failed_handle_grace = 60
[devices.tcp]
echo_interval = 0
"""
NEGOTIATION_RTTS = 4


# -- 1. dial ------------------------------------------------------------------------------------


def bench_daemon_dial(daemon: Daemon, slirp: Slirp, rounds: int) -> list[float]:
    from openras.client.ras import Ras

    ras = Ras(daemon.client())
    create_entry(
        daemon,
        "bench",
        [
            ["MEDIA", "none"],
            ["DEVICE", "tcp"],
            ["PhoneNumber", f"127.0.0.1:{slirp.port}"],
        ],
    )
    times = []
    for i in range(rounds + 1):  # round 0 warms up (the daemon imports pyroute2 on its first TUN)
        t0 = time.monotonic()
        started = ras.dial("bench")
        final = list(ras.notifications(started.handle, started.seq))[-1]
        times.append(time.monotonic() - t0)
        assert final.state.name == "Connected" and final.error == 0, final
        if i == 0:
            times.pop()
        ras.hangup(started.handle)
        assert ras.wait_gone(started.handle)
        time.sleep(0.05)  # let socat reap the previous slirp
    return times


async def _adapter_round(slirp: Slirp, echoes: int) -> tuple[float, list[float]]:
    from openras.ppp import PppConfig
    from openras.ppp import constants as c
    from openras.ppp.hdlc import Deframer, encode_frame
    from openras.ras.devices.ppp_link import PppLink
    from openras.ras.devices.ppp_port import PortProtocol

    loop = asyncio.get_running_loop()
    sock = slirp.netns_socket()  # made inside the namespace, where socat listens
    sock.setblocking(False)
    t0 = time.monotonic()
    await loop.sock_connect(sock, ("127.0.0.1", slirp.port))
    _, port = await loop.create_connection(PortProtocol, sock=sock)
    assert isinstance(port, PortProtocol)
    link = PppLink(port, PppConfig(echo_interval=0, ipv6=False))  # no device: the adapter alone
    link.start()
    await link.up
    dial = time.monotonic() - t0

    # RTT: LCP Echo-Requests written straight to the wire; replies spotted before the engine.
    engine_sink = port._sink
    deframer = Deframer(rx_accm=0)
    replies: asyncio.Queue[int] = asyncio.Queue()

    def sniff(data: bytes) -> None:
        for frame in deframer.iter_frames(data):
            if frame.protocol == c.PROTO_LCP and frame.info[:1] == bytes([c.ECHO_REPLY]):
                replies.put_nowait(frame.info[1])
        engine_sink(data)

    port._sink = sniff
    magic = link.engine.lcp_info.magic.to_bytes(4, "big") if link.engine.lcp_info else b"\0" * 4
    rtts = []
    for i in range(echoes):
        ident = 200 + i % 50
        t1 = time.monotonic()
        port.write(encode_frame(c.PROTO_LCP, bytes([c.ECHO_REQ, ident, 0, 8]) + magic))
        while await asyncio.wait_for(replies.get(), 5) != ident:
            pass
        rtts.append(time.monotonic() - t1)
    port._sink = engine_sink
    await link.close(3)
    port.close()
    return dial, rtts


def bench_adapter(slirp: Slirp, rounds: int) -> tuple[list[float], list[float]]:
    dials, rtts = [], []
    for _ in range(rounds):
        dial, r = asyncio.run(_adapter_round(slirp, 20))
        dials.append(dial)
        rtts += r
        time.sleep(0.05)
    return dials, rtts


# -- 2. bulk transfer: openras PPP on both ends vs a bare Python TUN relay -------------------

VETH_SERVER, VETH_CLIENT = "10.99.0.1", "10.99.0.2"
SIDE = Path(__file__).resolve().parent / "_ppp_side.py"
PAIR_PORT = 47100


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


def make_pair() -> tuple[str, str]:
    """Two namespaces (server, client) joined by a veth pair that carries the TCP link."""
    import secrets

    tag = secrets.token_hex(3)
    server, client = f"openras-bench-s{tag}", f"openras-bench-c{tag}"
    for ns in (server, client):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("link", "add", "vs", "netns", server, "type", "veth", "peer", "name", "vc", "netns", client)
    ip("-n", server, "addr", "add", f"{VETH_SERVER}/24", "dev", "vs")
    ip("-n", client, "addr", "add", f"{VETH_CLIENT}/24", "dev", "vc")
    ip("-n", server, "link", "set", "vs", "up")
    ip("-n", client, "link", "set", "vc", "up")
    return server, client


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def ns_curl_seconds(ns: str, url: str, size: int) -> float:
    t0 = time.monotonic()
    r = subprocess.run(
        in_ns(
            ns,
            ["curl", "-s", "-o", "/dev/null", "--max-time", "600", "-w", "%{size_download}", url],
        ),
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - t0
    assert r.returncode == 0 and int(r.stdout) == size, (r.returncode, r.stdout, r.stderr)
    return elapsed


def start_sides(mode: str, server_ns: str, client_ns: str) -> list[subprocess.Popen[str]]:
    import select

    env = {**os.environ, "PYTHONPATH": str(SIDE.parents[1] / "src")}
    sides = []
    for ns, role, addr in (
        (server_ns, "server", VETH_SERVER),
        (client_ns, "client", VETH_SERVER),
    ):
        sides.append(
            subprocess.Popen(
                in_ns(ns, [sys.executable, str(SIDE), mode, role, addr, str(PAIR_PORT)]),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    for side in sides:
        assert side.stdout is not None
        ready, _, _ = select.select([side.stdout], [], [], 30)
        line = side.stdout.readline() if ready else ""
        if line.strip() != "up":
            stop_sides(sides)
            raise RuntimeError(f"{mode} side did not come up: {line!r}")
    return sides


def stop_sides(sides: list[subprocess.Popen[str]]) -> float:
    """Stop both ends; the CPU seconds (user + system) they used while the link was up."""
    for side in sides:
        if side.stdin is not None:
            side.stdin.close()
    cpu = 0.0
    for side in sides:
        try:
            side.wait(10)
        except subprocess.TimeoutExpired:
            side.kill()
            side.wait()
        assert side.stdout is not None
        for line in side.stdout.read().splitlines():  # a line or two: it fits the pipe
            if line.startswith("cpu "):
                cpu += sum(float(x) for x in line.split()[1:])
    return cpu


def bench_pair(mib: int, rounds: int) -> dict[str, float]:
    """Medians of curl downloads: through openras PPP ↔ openras PPP, through the bare relay, and
    straight over the veth (for scale); alternating rounds, each mode's link set up once."""
    root = Path(tempfile.mkdtemp(prefix="openras-bench-"))
    os.chmod(root, 0o755)
    size = mib * (1 << 20)
    with open(root / "big.bin", "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    server_ns, client_ns = make_pair()
    http = subprocess.Popen(
        in_ns(
            server_ns,
            [sys.executable, "-c", HTTP_SERVER.replace("127.0.0.1", "0.0.0.0"), str(root)],
        ),
        stdout=subprocess.PIPE,
    )
    try:
        assert http.stdout is not None
        port = int(http.stdout.readline())
        times: dict[str, list[float]] = {"ppp": [], "relay": [], "veth": []}
        cpu: dict[str, list[float]] = {"ppp": [], "relay": []}
        for _ in range(rounds):
            for mode in ("ppp", "relay"):
                sides = start_sides(mode, server_ns, client_ns)
                try:
                    url = f"http://10.9.0.1:{port}/big.bin"
                    times[mode].append(ns_curl_seconds(client_ns, url, size))
                finally:
                    cpu[mode].append(stop_sides(sides))
            url = f"http://{VETH_SERVER}:{port}/big.bin"
            times["veth"].append(ns_curl_seconds(client_ns, url, size))
        result = {mode: median(t) for mode, t in times.items()}
        result.update({f"{mode}_cpu": median(c) for mode, c in cpu.items()})
        return result
    finally:
        http.terminate()
        http.wait()
        for ns in (server_ns, client_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        import shutil

        shutil.rmtree(root, ignore_errors=True)


# -- 3. pure engine ----------------------------------------------------------------------------


def bench_framing(megabytes: int = 64) -> tuple[float, float, float, float]:
    """MB/s of 1500-byte packets: encode_frame / iter_frames one frame at a time, and the data
    path's batch framing (64 packets) / whole-read decoder (256 KiB reads)."""
    from openras.ppp import hdlc_batch
    from openras.ppp.fcs import fcs16
    from openras.ppp.hdlc import Deframer, encode_frame

    packet = os.urandom(1500)
    count = megabytes * (1 << 20) // len(packet)
    t0 = time.perf_counter()
    frames = [encode_frame(0x0021, packet, 0, True, True) for _ in range(count)]
    encode = time.perf_counter() - t0
    wire = b"".join(frames)
    deframer = Deframer(max_frame=1600, rx_accm=0)
    t0 = time.perf_counter()
    got = 0
    for off in range(0, len(wire), 65536):
        got += sum(1 for _ in deframer.iter_frames(wire[off : off + 65536]))
    decode = time.perf_counter() - t0
    assert got >= count - 1, (got, count)
    batch = [packet] * 64
    t0 = time.perf_counter()
    for _ in range(0, count, 64):
        hdlc_batch.encode_batch(batch, b"\x21", fcs16(b"\x21"))
    encode_batch = time.perf_counter() - t0
    packets: list[bytes] = []
    hdlc_batch.decode_read(Deframer(rx_accm=0), wire[: 1 << 18], {0x21: None}, packets)  # warm
    deframer = Deframer(max_frame=1600, rx_accm=0)
    t0 = time.perf_counter()
    for off in range(0, len(wire), 1 << 18):  # asyncio's largest read from a socket
        rest = hdlc_batch.decode_read(deframer, wire[off : off + (1 << 18)], {0x21: None}, packets)
        assert not rest
        packets.clear()
    decode_read = time.perf_counter() - t0
    payload_mb = count * len(packet) / 1e6
    return (
        payload_mb / encode,
        payload_mb / decode,
        payload_mb / encode_batch,
        (payload_mb / decode_read),
    )


def bench_engine_pps(count: int = 200_000) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from ppp.pairing import Link, client_config, server_config

    from openras.ppp import PacketReceived

    link = Link(
        __import__("openras.ppp", fromlist=["PppEngine"]).PppEngine(client_config(ipv6=False)),
        __import__("openras.ppp", fromlist=["PppEngine"]).PppEngine(
            server_config(None, ipv6=False)
        ),
    ).start()
    a, b = link.a, link.b
    assert a.ipcp_info is not None and a.ipcp_info.local == IPv4Address("10.9.0.2")
    packet = bytes([0x45]) + os.urandom(63)
    received = 0
    t0 = time.perf_counter()
    for start in range(0, count, 64):  # batches, as the TUN reader sends them
        for _ in range(min(64, count - start)):
            a.send_packet(packet)
        b.receive_data(a.data_to_send(), 0.0)
        received += sum(1 for e in b.events() if isinstance(e, PacketReceived))
    elapsed = time.perf_counter() - t0
    assert received == count, received
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--mib", type=int, default=64)  # a round long enough to outlast start-up
    parser.add_argument("--bulk-rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces, TUN)")

    slirp = Slirp(listen_in_netns=True)
    slirp.start()
    daemon = Daemon(CONFIG, netns=slirp.netns).start()
    try:
        api = bench_daemon_dial(daemon, slirp, args.rounds)
        adapter, rtts = bench_adapter(slirp, args.rounds)
        rtt = median(rtts)
        minimum = NEGOTIATION_RTTS * rtt
    finally:
        daemon.cleanup()
        slirp.cleanup()
    pair = bench_pair(args.mib, args.bulk_rounds)
    enc, dec, enc_batch, dec_read = bench_framing()
    pps = bench_engine_pps()

    mb = args.mib * (1 << 20) / 1e6
    print(f"PPP over TCP to slirp ({args.rounds} rounds, medians)")
    print(f"  LCP echo RTT to slirp            {rtt * 1e3:8.3f} ms  ({len(rtts)} echoes)")
    print(f"  protocol minimum ({NEGOTIATION_RTTS} RTT)          {minimum * 1e3:8.3f} ms  1.00x")
    print(
        f"  adapter in-process: TCP → IPCP up {median(adapter) * 1e3:8.3f} ms"
        f"  {median(adapter) / minimum:6.1f}x"
    )
    print(
        f"  daemon: dial → Connected (+TUN)  {median(api) * 1e3:8.3f} ms"
        f"  {median(api) / minimum:6.1f}x"
    )
    print(
        f"Bulk HTTP download of {args.mib} MiB over TUN ↔ TCP ↔ TUN, MTU 1500"
        f" (median of {args.bulk_rounds})"
    )
    print(f"  bare Python TUN relay             {mb / pair['relay']:8.1f} MB/s  1.00x")
    print(
        f"  openras PPP ↔ openras PPP         {mb / pair['ppp']:8.1f} MB/s"
        f"  {pair['relay'] / pair['ppp']:6.3f}x"
    )
    print(f"  (the veth itself, no tunnel       {mb / pair['veth']:8.1f} MB/s)")
    print(
        f"  CPU of both ends per MiB: relay {pair['relay_cpu'] / args.mib * 1e3:.1f} ms,"
        f" PPP {pair['ppp_cpu'] / args.mib * 1e3:.1f} ms"
        f" ({pair['ppp_cpu'] / max(pair['relay_cpu'], 1e-9):.1f}x)"
    )
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("Pure engine, in memory")
    print(f"  HDLC encode, Python, per frame   {enc:8.1f} MB/s")
    print(f"  HDLC decode, Python, per frame   {dec:8.1f} MB/s  {dec / enc:6.2f}x encode")
    print(f"  data path: batch encode (64), C  {enc_batch:8.1f} MB/s")
    print(f"  data path: whole-read decode, C  {dec_read:8.1f} MB/s")
    print(f"  engine→engine, 64-byte packets   {pps:8.0f} packets/s")


if __name__ == "__main__":
    main()
