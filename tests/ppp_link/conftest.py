"""The ``lab_factory`` fixture: slirp in a fresh network namespace with only ``lo``, and an
openras daemon running inside that same namespace (its TUN interface and routes live there).

Everything is started and stopped by PID; the namespace is deleted with the slirp peer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import Daemon
from peers.slirp import Slirp

from .lab import DAEMON_CONFIG, Lab


@pytest.fixture
def lab_factory(slirp_factory: Callable[..., Slirp]) -> Iterator[Callable[..., Lab]]:
    made: list[Lab] = []

    def make(transport: str = "tcp", auth: str | None = None, **kwargs: Any) -> Lab:
        # TCP: socat listens inside the namespace, so the daemon there dials 127.0.0.1:port.
        slirp = slirp_factory(transport=transport, auth=auth, listen_in_netns=transport == "tcp", **kwargs)
        daemon = Daemon(DAEMON_CONFIG, netns=slirp.netns)
        lab = Lab(slirp, daemon)
        made.append(lab)
        daemon.start()
        return lab

    yield make
    for lab in made:
        lab.daemon.cleanup()  # before the slirp fixture kills whatever is left in the namespace
