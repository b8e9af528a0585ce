"""The SSH device's SOCKS listener on loopback: it carries only the users allowed on its link
and counts what passes (RasGetConnectionStatistics).

TCP has no SO_PEERCRED, but on loopback both ends of a connection are sockets of this machine
(and of the daemon's network namespace): the client's end is listed in ``/proc/net/tcp`` (or
``tcp6``) with the uid that created it. Each accepted connection is held (reading paused) until
that uid is found and admitted; anything else is closed before a byte of SOCKS is read. Users'
tools keep working unchanged (``curl --socks5 127.0.0.1:PORT``, browsers, git).
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncssh
from asyncssh.listener import create_tcp_local_listener
from asyncssh.socks import SSHSOCKSForwarder

from ..records import LinkStatistics
from .base import Log

TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
# Only a live connection names its owner: a TIME_WAIT entry of the same addresses (the kernel
# reuses loopback ports still in TIME_WAIT, tcp_tw_reuse=2) is listed with uid 0, and taking it
# would admit anyone as root.
ESTABLISHED = "01"
# What a client may send before it is admitted (a SOCKS greeting and request are far smaller).
HELD_MAX = 4096


@dataclass
class RelayCounters:
    """From the SOCKS clients towards the server (xmit) and back (rcv); reads and writes are
    the "frames" of a byte stream."""

    bytes_xmit: int = 0
    bytes_rcv: int = 0
    writes_xmit: int = 0
    writes_rcv: int = 0
    connections: int = 0

    def statistics(self) -> LinkStatistics:
        return LinkStatistics(
            dwBytesXmited=self.bytes_xmit,
            dwBytesRcved=self.bytes_rcv,
            dwFramesXmited=self.writes_xmit,
            dwFramesRcved=self.writes_rcv,
        )


Address = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


def _address(field: str) -> Address:
    """``0100007F:1F90`` (32-bit words in host byte order) → (127.0.0.1, 8080)."""
    host, port = field.split(":")
    words = [int(host[i : i + 8], 16) for i in range(0, len(host), 8)]
    raw = b"".join(struct.pack("=I", w) for w in words)
    ip = ipaddress.ip_address(raw)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, int(port, 16)
    return ip, int(port, 16)


def _normal(host: str, port: int) -> Address:
    ip = ipaddress.ip_address(host.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, port
    return ip, port


def loopback_peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the socket at ``peer`` connected to our ``local`` end, or None.

    Blocking (reads /proc): call it in a thread."""
    want_local, want_remote = _normal(*peer), _normal(*local)
    for table in TCP_TABLES:
        try:
            with open(table, encoding="ascii") as lines:
                next(lines, None)  # header
                for line in lines:
                    fields = line.split()
                    if len(fields) < 8 or fields[3] != ESTABLISHED:
                        continue
                    if _address(fields[1]) == want_local and _address(fields[2]) == want_remote:
                        return int(fields[7])
        except OSError:
            continue
    return None


class _GuardedForwarder(SSHSOCKSForwarder):
    """asyncssh's SOCKS forwarder, paused at accept until the peer's uid is admitted, counting
    what passes (``counters``: RasGetConnectionStatistics)."""

    def __init__(
        self,
        conn: asyncssh.SSHClientConnection,
        coro: Any,
        admit: Callable[[int], bool],
        log: Log,
        tasks: set[asyncio.Task[None]],
        counters: RelayCounters,
    ) -> None:
        super().__init__(conn, coro)
        self._admit = admit
        self._log = log
        self._tasks = tasks
        self._counters = counters
        self._held: list[bytes] | None = []  # read before the peer was admitted
        counters.connections += 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.Transport)
        # Nothing reaches the SOCKS forwarder before the peer is admitted. Pausing is not
        # enough: before CPython 3.11.5 or so the transport starts reading after
        # connection_made even when it was paused in it, so what comes early is held here.
        self._held = []
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._check(transport))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        uid = None
        if peer and local:
            uid = await asyncio.to_thread(loopback_peer_uid, peer[:2], local[:2])
        if transport.is_closing():
            return
        if uid is not None and self._admit(uid):
            held, self._held = self._held or [], None
            for data in held:
                self.data_received(data)
            if not transport.is_closing():
                transport.resume_reading()
            return
        self._log.warning(
            "SOCKS connection from %s:%s refused: uid %s may not use this link",
            peer[0] if peer else "?",
            peer[1] if peer else "?",
            "unknown" if uid is None else uid,
        )
        transport.abort()

    def data_received(self, data: bytes, datatype: Any = None) -> None:
        if self._held is not None:  # not admitted (yet)
            self._held.append(data)
            if sum(map(len, self._held)) > HELD_MAX:
                self._held = []
                if self._transport is not None:
                    self._transport.abort()
            elif self._transport is not None:
                self._transport.pause_reading()
            return
        self._counters.bytes_xmit += len(data)
        self._counters.writes_xmit += 1
        super().data_received(data, datatype)

    def write(self, data: bytes) -> None:
        self._counters.bytes_rcv += len(data)
        self._counters.writes_rcv += 1
        super().write(data)


async def open_guarded_socks(
    conn: asyncssh.SSHClientConnection,
    host: str,
    port: int,
    admit: Callable[[int], bool],
    log: Log,
    counters: RelayCounters,
) -> asyncssh.SSHListener:
    """``conn.forward_socks(host, port)``, admitting only the uids ``admit`` accepts and
    counting into ``counters``. asyncssh's ``forward_socks`` has neither hook, so this opens the
    same listener with asyncssh's own SOCKS forwarder, subclassed.

    The listener is closed by its owner (the SSH device's hang-up)."""
    tasks: set[asyncio.Task[None]] = set()

    async def tunnel(
        session_factory: Any, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Any:
        return await conn.create_connection(
            session_factory, dest_host, dest_port, orig_host, orig_port
        )

    def factory() -> asyncio.BaseProtocol:
        return _GuardedForwarder(conn, tunnel, admit, log, tasks, counters)

    loop = asyncio.get_running_loop()
    return await create_tcp_local_listener(conn, loop, factory, host, port)


__all__ = ["RelayCounters", "loopback_peer_uid", "open_guarded_socks"]
