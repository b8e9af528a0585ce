"""The SSH device's SOCKS listener, counting what passes through it (RasGetConnectionStatistics).

asyncssh's ``forward_socks`` gives no counters, so this opens the same listener with asyncssh's
own SOCKS forwarder, subclassed to count bytes and reads/writes (the "frames" of a byte stream)
in each direction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncssh
from asyncssh.listener import create_tcp_local_listener
from asyncssh.socks import SSHSOCKSForwarder

from ..records import LinkStatistics


@dataclass
class RelayCounters:
    """From the SOCKS clients towards the server (xmit) and back (rcv)."""

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


class _CountingForwarder(SSHSOCKSForwarder):
    def __init__(self, conn: Any, coro: Any, counters: RelayCounters) -> None:
        super().__init__(conn, coro)
        self._counters = counters
        counters.connections += 1

    def data_received(self, data: bytes, datatype: Any = None) -> None:
        self._counters.bytes_xmit += len(data)
        self._counters.writes_xmit += 1
        super().data_received(data, datatype)

    def write(self, data: bytes) -> None:
        self._counters.bytes_rcv += len(data)
        self._counters.writes_rcv += 1
        super().write(data)


async def open_socks_listener(
    conn: asyncssh.SSHClientConnection, host: str, port: int, counters: RelayCounters
) -> asyncssh.SSHListener:
    """What ``conn.forward_socks(host, port)`` does, with counting forwarders."""

    async def tunnel(
        session_factory: Any, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Any:
        return await conn.create_connection(
            session_factory, dest_host, dest_port, orig_host, orig_port
        )

    listener = await create_tcp_local_listener(
        conn,
        asyncio.get_running_loop(),
        lambda: _CountingForwarder(conn, tunnel, counters),
        host,
        port,
    )
    # As forward_socks does: the connection closes its listeners when it closes.
    conn._local_listeners[host, listener.get_port()] = listener
    return listener
