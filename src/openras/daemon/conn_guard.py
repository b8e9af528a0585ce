"""API connections under a budget: a cap per user, and a daemon that keeps serving at its
file-descriptor limit.

Every accepted connection is counted against its peer's uid (SO_PEERCRED). A user past
``max_connections_per_user`` gets an error answer (71) and the connection is closed; root and the
daemon's own user are not capped. All connections together stay below the process's
RLIMIT_NOFILE, less a reserve for links, the store and the log: at that budget the oldest idle
connection is closed to make room, and when none is idle the newcomer gets an error (4) instead
of the daemon ceasing to accept. Idle connections are also closed by aiohttp's keep-alive
timeout (``idle_timeout``), which holds from the moment a connection is accepted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..codes import ErrorCode, error_name, error_string
from ..users import is_privileged

RESERVE_MIN = 32


def _refusal(code: int, detail: str) -> bytes:
    body = json.dumps(
        {
            "error": code,
            "name": error_name(code),
            "message": error_string(code, "en"),
            "detail": detail,
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def _peer_uid(transport: asyncio.BaseTransport) -> int:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return -1
    return int(struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1])


def fd_budget() -> int:
    """API connections that fit: the descriptor limit, less those open now (store, log, devices'
    sockets) and a reserve for the links and files still to come."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    in_use = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 64
    return max(soft - in_use - max(RESERVE_MIN, soft // 8), 8)


class Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, admitted (or not) by the guard first."""

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.uid = -1
        self.since = time.monotonic()
        self.admitted = False
        self.transport: asyncio.BaseTransport | None = None

    @property
    def idle(self) -> bool:
        # aiohttp waits on ``_waiter`` for the next request line: nothing is in progress.
        waiter = getattr(self.inner, "_waiter", None)
        return not getattr(self.inner, "_request_in_progress", False) and (
            waiter is None or not waiter.done()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.uid = _peer_uid(transport)
        refusal = self.guard.admit(self)
        if refusal is not None:
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(refusal)
            transport.close()
            return
        self.admitted = True
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.leave(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()


class ConnectionGuard:
    def __init__(self, per_user: int, daemon_uid: int, budget: int | None = None) -> None:
        self.per_user = per_user
        self.daemon_uid = daemon_uid
        self.budget = budget if budget is not None else fd_budget()
        self.by_uid: dict[int, list[Guarded]] = {}
        self.total = 0
        self.refused = 0
        self.evicted = 0

    def factory(self, make: Callable[[], Any]) -> Callable[[], Guarded]:
        return lambda: Guarded(make(), self)

    def admit(self, conn: Guarded) -> bytes | None:
        mine = self.by_uid.setdefault(conn.uid, [])
        capped = not (is_privileged(conn.uid) or conn.uid == self.daemon_uid)
        if capped and len(mine) >= self.per_user:
            self.refused += 1
            return _refusal(
                ErrorCode.ERROR_REQ_NOT_ACCEP,
                f"uid {conn.uid} has {len(mine)} open connections (the limit)",
            )
        if self.total >= self.budget and not self._evict_idle():
            self.refused += 1
            return _refusal(ErrorCode.ERROR_TOO_MANY_OPEN_FILES, "the daemon is at its limit")
        mine.append(conn)
        self.total += 1
        return None

    def _evict_idle(self) -> bool:
        """Close the oldest idle connection of the user holding the most."""
        for conns in sorted(self.by_uid.values(), key=len, reverse=True):
            for victim in conns:
                if victim.idle and victim.transport is not None:
                    self._forget(victim)
                    victim.transport.close()
                    self.evicted += 1
                    return True
        return False

    def _forget(self, conn: Guarded) -> None:
        conns = self.by_uid.get(conn.uid)
        if conns is not None and conn in conns:
            conns.remove(conn)
            self.total -= 1
            if not conns:
                del self.by_uid[conn.uid]

    def leave(self, conn: Guarded) -> None:
        self._forget(conn)


class GuardedUnixSite(web.UnixSite):
    """``web.UnixSite`` whose connections go through a :class:`ConnectionGuard`."""

    def __init__(self, runner: web.BaseRunner, path: str, guard: ConnectionGuard) -> None:
        super().__init__(runner, path)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_unix_server(
            self.guard.factory(server), str(self._path), backlog=self._backlog
        )
        self.guard.budget = fd_budget()  # now that the daemon's own files are open


class GuardedSockSite(web.SockSite):
    """``web.SockSite`` (a socket handed in by systemd) whose connections go through the guard."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, guard: ConnectionGuard) -> None:
        super().__init__(runner, sock)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_unix_server(
            self.guard.factory(server), sock=self._sock, backlog=self._backlog
        )
        self.guard.budget = fd_budget()
