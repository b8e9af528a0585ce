"""PPP over a TCP stream (``DEVICE=tcp``, ``PhoneNumber=host:port``): terminal servers, tests.

OpenPort covers name resolution and the TCP connect; a refused or unanswered connect fails
there (678 no answer / 638 time-out, 868 name not resolvable), as SSH does.
"""

from __future__ import annotations

import asyncio
import socket

from ...codes import RasError, errors
from .base import DialContext
from .ppp_link import PortProtocol, PppDevice, _number
from .ssh import split_host_port


class TcpDevice(PppDevice):
    device_type = "tcp"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.host, self.port_number = "", 0

    @property
    def device_name(self) -> str:
        return f"tcp:{self.host}:{self.port_number}" if self.host else "tcp"

    async def open_port(self) -> PortProtocol:
        self.host, self.port_number = split_host_port(self.ctx.phone_number, 0)
        if not self.port_number:
            raise RasError(errors.ERROR_CORRUPT_PHONEBOOK, "PhoneNumber needs host:port for DEVICE=tcp")
        timeout = _number(self.ctx, "TcpConnectTimeout", "connect_timeout", 20)
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(self.host, self.port_number, type=socket.SOCK_STREAM), timeout)
        except (OSError, TimeoutError) as exc:
            raise RasError(errors.ERROR_DNSNAME_NOT_RESOLVABLE, f"{self.host}: {exc}") from None
        last: BaseException | None = None
        for family, type_, proto, _, addr in infos:
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, addr), timeout)
            except (OSError, TimeoutError) as exc:
                sock.close()
                last = exc
                continue
            except BaseException:  # a hang-up (cancellation) mid-connect must not leak the socket
                sock.close()
                raise
            # PPP frames are small and latency-bound (negotiation, interactive traffic).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _, protocol = await loop.create_connection(PortProtocol, sock=sock)
            return protocol
        if isinstance(last, TimeoutError):
            raise RasError(errors.ERROR_REQUEST_TIMEOUT, f"{self.host}:{self.port_number}: no answer")
        raise RasError(errors.ERROR_NO_ANSWER, f"{self.host}:{self.port_number}: {last}")
