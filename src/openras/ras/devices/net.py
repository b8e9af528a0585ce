"""Resolving and connecting a TCP endpoint, with the RAS codes of each way it can fail."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from ...codes import ErrorCode, RasError
from ...timeouts import within


async def tcp_connect(host: str, port: int, limit: float) -> socket.socket:
    """A connected non-blocking socket to ``host:port``, trying each resolved address.

    868 the name does not resolve, 678 nothing answers, 638 time-out. A cancellation (a hang-up
    mid-connect) closes the socket before it propagates.
    """
    loop = asyncio.get_running_loop()
    try:
        numeric = _numeric(host, port)
        # A name is resolved in a worker thread (asyncio's getaddrinfo).
        infos = (
            numeric
            if numeric is not None
            else await within(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), limit)
        )
    except (OSError, TimeoutError) as exc:
        raise RasError(ErrorCode.ERROR_DNSNAME_NOT_RESOLVABLE, f"{host}: {exc}") from None
    last: Exception | None = None
    for family, type_, proto, _, addr in infos:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            await within(loop.sock_connect(sock, addr), limit)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    if isinstance(last, TimeoutError):
        raise RasError(ErrorCode.ERROR_REQUEST_TIMEOUT, f"{host}:{port}: no answer")
    raise RasError(ErrorCode.ERROR_NO_ANSWER, f"{host}:{port}: {last}")


def _numeric(host: str, port: int) -> list[tuple[Any, ...]] | None:
    """An address literal's getaddrinfo answer, made here: with AI_NUMERICHOST it never waits
    on a resolver, so it needs no trip to a worker thread. None for a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 literal may carry a scope
    except ValueError:
        return None
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
