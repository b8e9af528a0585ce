"""tcp_connect (ras/devices/net.py): address literals connect without a resolver trip, names
are resolved, and a closed port is 678."""

from __future__ import annotations

import asyncio
import socket

import pytest

from openras.codes import ErrorCode, RasError
from openras.ras.devices.net import _numeric, tcp_connect


def listener(family: int, host: str) -> socket.socket:
    sock = socket.socket(family)
    sock.bind((host, 0))
    sock.listen(4)
    return sock


def closed_port(family: int, host: str) -> int:
    sock = socket.socket(family)
    sock.bind((host, 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_literals_are_answered_here_and_names_are_not() -> None:
    assert _numeric("127.0.0.1", 22) == socket.getaddrinfo("127.0.0.1", 22, type=socket.SOCK_STREAM)
    assert _numeric("::1", 22)[0][0] == socket.AF_INET6  # type: ignore[index]
    assert _numeric("localhost", 22) is None
    assert _numeric("10.0.0.256", 22) is None  # not an address: a (bad) name


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_a_literal_connects_and_a_closed_port_is_678(family: int, host: str) -> None:
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    server = listener(family, host)

    async def run() -> None:
        sock = await tcp_connect(host, server.getsockname()[1], 5)
        assert sock.getpeername()[:2] == server.getsockname()[:2]
        sock.close()
        with pytest.raises(RasError) as refused:
            await tcp_connect(host, closed_port(family, host), 5)
        assert refused.value.code == ErrorCode.ERROR_NO_ANSWER

    try:
        asyncio.run(run())
    finally:
        server.close()


def test_a_name_is_resolved() -> None:
    """(A name that does not resolve, 868, would ask the machine's DNS server: not from a test.)"""
    server = listener(socket.AF_INET, "127.0.0.1")

    async def run() -> None:
        sock = await tcp_connect("localhost", server.getsockname()[1], 5)  # /etc/hosts
        assert sock.getpeername() == server.getsockname()
        sock.close()

    try:
        asyncio.run(run())
    finally:
        server.close()
