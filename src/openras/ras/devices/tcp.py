"""PPP over a TCP stream (``DEVICE=tcp``, ``PhoneNumber=host:port``): terminal servers, tests.

OpenPort covers name resolution and the TCP connect; a refused or unanswered connect fails
there (678 no answer / 638 time-out, 868 name not resolvable), as SSH does.
"""

from __future__ import annotations

import asyncio
import socket

from ...codes import ErrorCode, RasError
from .base import DialContext
from .net import tcp_connect
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
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, "PhoneNumber needs host:port for DEVICE=tcp")
        timeout = _number(self.ctx, "TcpConnectTimeout", "connect_timeout", 20)
        sock = await tcp_connect(self.host, self.port_number, timeout)
        # PPP frames are small and latency-bound (negotiation, interactive traffic).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            _, protocol = await asyncio.get_running_loop().create_connection(PortProtocol, sock=sock)
        except BaseException:
            sock.close()
            raise
        return protocol
