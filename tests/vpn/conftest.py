"""``ikev2_lab``: a strongSwan server and an openras daemon, each in its own network namespace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import Daemon
from peers.strongswan import StrongswanServer

from .lab import DAEMON_CONFIG, Lab


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
