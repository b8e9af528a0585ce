"""Fixtures shared by the suite: an isolated openras daemon per test (started and stopped by
PID)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import Daemon
from peers import require

pytest_plugins = ["peers.fixtures"]

# One CI-aware skip helper for the whole suite: skip locally, fail in CI.
need = require


@pytest.fixture
def daemon_factory() -> Iterator[Any]:
    started: list[Daemon] = []

    def make(config: str = "", start: bool = True) -> Daemon:
        d = Daemon(config)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        # Show the daemon's log when a test failed, to tell what happened inside.
        d.cleanup()


@pytest.fixture
def daemon(daemon_factory: Any) -> Daemon:
    return daemon_factory("[daemon]\nfailed_handle_grace = 2\n")


@pytest.fixture
def win32ras(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Any:
    """openras.win32ras bound to this test's daemon."""
    from openras import win32ras as module

    monkeypatch.setenv("OPENRAS_HOME", str(daemon.home))
    monkeypatch.setattr(module, "_client", None)
    return module
