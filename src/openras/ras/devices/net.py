"""Resolving and connecting a TCP endpoint, with the RAS codes of each way it can fail."""

from __future__ import annotations

import asyncio
import socket

from ...codes import ErrorCode, RasError


async def tcp_connect(host: str, port: int, limit: float) -> socket.socket:
    """A connected non-blocking socket to ``host:port``, trying each resolved address.

    868 the name does not resolve, 678 nothing answers, 638 time-out. A cancellation (a hang-up
    mid-connect) closes the socket before it propagates.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), limit)
    except (OSError, TimeoutError) as exc:
        raise RasError(ErrorCode.ERROR_DNSNAME_NOT_RESOLVABLE, f"{host}: {exc}") from None
    last: Exception | None = None
    for family, type_, proto, _, addr in infos:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, addr), limit)
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
