"""pytest fixtures for the real peers (loaded by tests/conftest.py:
``pytest_plugins = ["peers.fixtures"]``).

- ``sshd``: a fresh sshd per test, so kill_sessions()/stop_sessions() touch only this test's links.
- ``sshd_shared``: one sshd for the whole session, for tests that only log in (never kill
  or stop its sessions: other tests share them).
- ``sshd_factory``: ``make(extra_config="")`` starts another sshd (e.g. with extra options).
- ``http_server``: a local HTTP server with a random token in index.html.
- ``slirp_factory``:
  ``make(transport="tcp"|"pty", auth=None|"pap"|"chap", listen_in_netns=False, …)``
  starts a slirp PPP peer in a fresh network namespace.
- ``slirp`` (PPP over TCP on 127.0.0.1:port, no auth) and ``slirp_pty`` (PPP on a pty).
- ``client_uids``: (40001, 40002), checked to be able to run the venv's python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .http import HttpServer
from .slirp import Slirp, slirp_available
from .sshd import Sshd, sshd_available
from .users import require_other_uids


@pytest.fixture
def sshd_factory() -> Iterator[Callable[..., Sshd]]:
    started: list[Sshd] = []

    def make(extra_config: str = "") -> Sshd:
        sshd_available()
        server = Sshd(extra_config)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture
def sshd(sshd_factory: Callable[..., Sshd]) -> Sshd:
    return sshd_factory()


@pytest.fixture(scope="session")
def sshd_shared() -> Iterator[Sshd]:
    sshd_available()
    server = Sshd().start()
    yield server
    server.cleanup()


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def slirp_factory() -> Iterator[Callable[..., Slirp]]:
    started: list[Slirp] = []

    def make(**kwargs: Any) -> Slirp:
        slirp_available()
        peer = Slirp(**kwargs)
        started.append(peer)
        return peer.start()

    yield make
    for peer in started:
        peer.cleanup()


@pytest.fixture
def slirp(slirp_factory: Callable[..., Slirp]) -> Slirp:
    return slirp_factory()


@pytest.fixture
def slirp_pty(slirp_factory: Callable[..., Slirp]) -> Slirp:
    return slirp_factory(transport="pty")


@pytest.fixture
def client_uids() -> tuple[int, int]:
    return require_other_uids()
