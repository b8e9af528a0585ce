"""Fixtures of the OpenVPN tests: a real OpenVPN server in a namespace of its own and an openras
daemon in the client namespace (its openvpn child, tun interface and routes live there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from peers.openvpn import OpenVpnServer

from .lab import VpnLab


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
