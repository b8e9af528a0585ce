"""Fixtures of the VPN tests: a real server (OpenVPN or strongSwan) in a network namespace of its
own and an openras daemon in the client namespace (its openvpn child or charon, tunnel interface
and routes live there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import Daemon
from peers.openvpn import OpenVpnServer
from peers.strongswan import StrongswanServer

from .ikev2_lab import DAEMON_CONFIG, Lab
from .openvpn_lab import VpnLab


@pytest.fixture
def vpn_factory() -> Iterator[Callable[..., VpnLab]]:
    made: list[VpnLab] = []

    def make(config: str = "", **server_args: Any) -> VpnLab:
        server = OpenVpnServer(**server_args)
        lab = VpnLab(server, config)
        made.append(lab)
        lab.start()
        return lab

    yield make
    for lab in made:
        lab.cleanup()


@pytest.fixture
def vpn(vpn_factory: Callable[..., VpnLab]) -> VpnLab:
    return vpn_factory()


@pytest.fixture
def ikev2_lab() -> Iterator[Callable[..., Lab]]:
    made: list[Lab] = []
    servers: list[StrongswanServer] = []

    def make(**server_args: Any) -> Lab:
        server = StrongswanServer(**server_args)
        servers.append(server)
        server.start()
        server.http_server()
        daemon = Daemon(DAEMON_CONFIG, netns=server.client_ns)
        lab = Lab(server, daemon)
        made.append(lab)
        daemon.start()
        return lab

    yield make
    for lab in made:
        lab.daemon.cleanup()  # stops its charon; before the namespaces go
    for server in servers:
        server.cleanup()
