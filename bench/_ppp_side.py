"""One end of a TUN-to-TUN link over TCP, run inside a network namespace by bench/ppp_link.py.

    python bench/_ppp_side.py {ppp|relay} {server|client} LISTEN_OR_CONNECT_ADDR PORT

- ``ppp``: openras's own data path, wired as the daemon's PPP device wires it — a
  ``PortProtocol`` on the TCP socket, a ``PppLink`` (the sans-IO engine, HDLC framing, ACCM 0,
  PFC/ACFC), and a ``TunInterface`` pumping packets (``send_packets`` per batch of TUN reads,
  ``write_packets`` per batch of received packets, paused while the socket's buffer is full).
  The server end gives 10.9.0.1/10.9.0.2 without authentication.
- ``relay``: the anchor, a bare asyncio relay: the same TUN reads (up to 64 packets of up to
  64 KiB per wake-up), each packet sent with a 2-byte length in one write per batch, the same
  256 KiB write-buffer bound pausing the TUN reader; received packets written to the TUN with
  the same ``write_packets``.

Both make the interface with ``TunInterface.open`` (same addresses, MTU 1500). Prints "up"
once packets flow, then runs until stdin closes, and prints "cpu USER SYSTEM": the seconds of
CPU it used in between (getrusage: microseconds, where os.times counts 10 ms ticks).
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import struct
import sys
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from openras.ras.devices.ppp_port import WRITE_HIGH_WATER, PortProtocol
from openras.ras.link.tun import TunConfig, TunInterface

SERVER_IP, CLIENT_IP = IPv4Address("10.9.0.1"), IPv4Address("10.9.0.2")
BATCH = 64  # TUN reads per wake-up, as TunInterface does


async def tcp(role: str, addr: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    if role == "server":
        with socket.create_server((addr, port)) as listener:
            listener.setblocking(False)
            sock, _ = await loop.sock_accept(listener)
    else:
        sock = socket.socket()
        sock.setblocking(False)
        for _ in range(500):
            try:
                await loop.sock_connect(sock, (addr, port))
                break
            except ConnectionRefusedError:
                sock.close()
                sock = socket.socket()
                sock.setblocking(False)
                await asyncio.sleep(0.01)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def tun_config(role: str) -> TunConfig:
    local, peer = (SERVER_IP, CLIENT_IP) if role == "server" else (CLIENT_IP, SERVER_IP)
    return TunConfig(name=f"bench-{role}", local=local, peer=peer, mtu=1500)


LINKS: list[Any] = []  # the PppLink, for its counters at the end


async def run_ppp(role: str, sock: socket.socket) -> TunInterface:
    from openras.ppp import PppConfig
    from openras.ras.devices.ppp_link import PppLink

    loop = asyncio.get_running_loop()
    _, port = await loop.create_connection(PortProtocol, sock=sock)
    assert isinstance(port, PortProtocol)
    if role == "server":
        config = PppConfig(
            echo_interval=0,
            ipv6=False,
            require_auth=(),
            allowed_auth=(),
            local_ip=SERVER_IP,
            peer_ip=CLIENT_IP,
            request_dns=False,
        )
    else:
        config = PppConfig(echo_interval=0, ipv6=False, request_dns=False, allowed_auth=())
    link = PppLink(port, config)
    LINKS.append(link)
    link.start()
    await asyncio.wait_for(link.up, 20)
    tun = TunInterface(tun_config(role))
    await tun.open()
    link.packet_sink = tun.write_packets
    port.on_pause = tun.pause
    tun.start(link.send_packets)
    return tun


class RelayProtocol(asyncio.Protocol):
    """Length-prefixed packets from the socket to the TUN; pauses the TUN reader when full."""

    def __init__(self, tun: TunInterface) -> None:
        self.tun = tun
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        packets: list[bytes] = []
        while len(buf) - pos >= 2:
            (size,) = struct.unpack_from("!H", buf, pos)
            if len(buf) - pos - 2 < size:
                break
            packets.append(bytes(buf[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        del buf[:pos]
        self.tun.write_packets(packets)

    def pause_writing(self) -> None:
        self.drained = asyncio.get_running_loop().create_future()
        self.tun.pause(self.drained)

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)


async def run_relay(role: str, sock: socket.socket) -> TunInterface:
    loop = asyncio.get_running_loop()
    tun = TunInterface(tun_config(role))
    await tun.open()
    _, proto = await loop.create_connection(lambda: RelayProtocol(tun), sock=sock)
    assert isinstance(proto, RelayProtocol) and proto.transport is not None
    transport = proto.transport
    pack = struct.Struct("!H").pack

    def send(packets: list[bytes]) -> int:
        transport.write(b"".join([pack(len(packet)) + packet for packet in packets]))
        return 0

    tun.start(send)
    return tun


async def main(mode: str, role: str, addr: str, port: int) -> None:
    sock = await tcp(role, addr, port)
    tun: Any = await (run_ppp if mode == "ppp" else run_relay)(role, sock)
    t_up = resource.getrusage(resource.RUSAGE_SELF)  # microseconds, not os.times' 10 ms ticks
    print("up", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
    tun.close()
    t_end = resource.getrusage(resource.RUSAGE_SELF)  # this end's CPU time while packets flowed
    user, system = t_end.ru_utime - t_up.ru_utime, t_end.ru_stime - t_up.ru_stime
    print(f"cpu {user:.4f} {system:.4f}", flush=True)
    for link in LINKS:
        stats = link.engine.stats
        print(f"rx_packets {stats.rx_packets} rx_whole_read {stats.rx_whole_read}", flush=True)
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
