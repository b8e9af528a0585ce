"""The ``lab_factory`` fixture: slirp in a fresh network namespace with only ``lo``, and an
openras daemon running inside that same namespace (its TUN interface and routes live there).

Everything is started and stopped by PID; the namespace is deleted with the slirp peer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import Daemon
from peers.modem import FakeModem
from peers.slirp import Slirp

from .lab import DAEMON_CONFIG, Lab


@pytest.fixture
def lab_factory(slirp_factory: Callable[..., Slirp]) -> Iterator[Callable[..., Lab]]:
    made: list[Lab] = []

    def make(
        transport: str = "tcp", auth: str | None = None, wrap: tuple[str, ...] = (), **kwargs: Any
    ) -> Lab:
        # TCP: socat listens inside the namespace, so the daemon there dials 127.0.0.1:port.
        slirp = slirp_factory(
            transport=transport, auth=auth, listen_in_netns=transport == "tcp", **kwargs
        )
        daemon = Daemon(DAEMON_CONFIG, netns=slirp.netns, wrap=wrap)
        lab = Lab(slirp, daemon)
        made.append(lab)
        daemon.start()
        return lab

    def make_modem(mode: str, auth: str | None = None, **kwargs: Any) -> Lab:
        # slirp without socat: the fake modem starts it on CONNECT, inside the namespace.
        slirp = Slirp(auth=auth, **kwargs)
        slirps.append(slirp)
        runner = slirp.prepare()
        modem = FakeModem(mode, runner)
        modems.append(modem)
        modem.start()
        daemon = Daemon(DAEMON_CONFIG, netns=slirp.netns)
        lab = Lab(slirp, daemon, modem=modem)
        made.append(lab)
        daemon.start()
        return lab

    make.modem = make_modem  # type: ignore[attr-defined]
    slirps: list[Slirp] = []
    modems: list[FakeModem] = []
    yield make
    for lab in made:
        lab.daemon.cleanup()  # before the slirp fixture kills whatever is left in the namespace
    for modem in modems:
        modem.cleanup()
    for slirp in slirps:
        slirp.cleanup()
