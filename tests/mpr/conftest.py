"""Fixtures for the router tests: an in-process MprService on a real store, and the real smbd.

``mpr_factory(config_text, home=None)`` builds a DaemonContext (Store on a file, EventBus,
openras.toml) and starts an MprService on it with the real providers; building a second one
on the same home is a daemon restart. ``api_server`` serves the /v1/net routes on a Unix
socket from a thread (its own event loop), so the synchronous client, win32wnet and
``openras net`` can talk to it exactly as to the daemon.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from peers.smbd import smbd  # noqa: F401 - a fixture
from ras_helpers import logged_events

from openras import config as config_mod
from openras.context import DaemonContext
from openras.daemon.app import _aiohttp_path
from openras.daemon.http import errors_middleware
from openras.daemon.mpr_api import MprService
from openras.events import EventBus
from openras.paths import Paths
from openras.store import Store


def make_ctx(home: Path, config_text: str = "") -> DaemonContext:
    home.mkdir(parents=True, exist_ok=True)
    paths = Paths(home, home, home)
    if config_text:
        paths.config_file.write_text(config_text)
    cfg = config_mod.load(paths.config_file)
    store = Store(str(paths.database))
    return DaemonContext(
        paths=paths,
        config=cfg,
        store=store,
        events=EventBus(store),
        log=logging.getLogger("openras.test.mpr"),
        uid=os.geteuid(),
    )


@pytest.fixture
def mpr_home() -> Iterator[Path]:
    # Under /tmp with 0755 parents that only root can change: notifyees placed here pass the
    # ownership checks, and other uids can reach drive directories.
    home = Path(tempfile.mkdtemp(prefix="openras-mpr-"))
    os.chmod(home, 0o755)
    yield home
    import shutil

    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def mpr_factory(mpr_home: Path) -> AsyncIterator[Callable[..., Any]]:
    services: list[MprService] = []

    async def make(
        config_text: str = "", home: Path | None = None, restore: bool = True
    ) -> MprService:
        ctx = make_ctx(home or mpr_home, config_text)
        service = MprService(ctx)
        services.append(service)
        await service.start()
        if restore:
            await service.wait_restored()
        return service

    yield make
    for s in services:
        await s.stop()
        s.ctx.store.close()


def events_of(service: MprService, kind: str) -> list[dict[str, Any]]:
    return [e for e in logged_events(service.ctx.store) if e["kind"] == kind]


@dataclass
class ApiServer:
    home: Path
    service: MprService
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop (e.g. to inspect the router)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def serve(home: Path, config_text: str = "") -> tuple[ApiServer, Callable[[], None]]:
    """The /v1/net routes on ``home/openras.sock`` from a thread with its own event loop."""
    ready = threading.Event()
    state: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    async def main() -> None:
        ctx = make_ctx(home, config_text)
        service = MprService(ctx)
        await service.start()
        await service.wait_restored()
        app = web.Application(middlewares=[errors_middleware])
        for route in service.routes():  # registered as the daemon's app registers them
            app.router.add_route(route.method, _aiohttp_path(route), route.handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.UnixSite(runner, str(ctx.paths.socket))
        await site.start()
        state.update(service=service, runner=runner, stop=asyncio.Event())
        ready.set()
        await state["stop"].wait()
        await runner.cleanup()
        await service.stop()
        ctx.store.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("MPR API server did not start")

    def stop() -> None:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(30)
        loop.close()

    return ApiServer(home, state["service"], loop), stop


@pytest.fixture
def api_server(
    mpr_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., ApiServer]]:
    stops: list[Callable[[], None]] = []

    def make(config_text: str = "") -> ApiServer:
        server, stop = serve(mpr_home, config_text)
        stops.append(stop)
        monkeypatch.setenv("OPENRAS_HOME", str(mpr_home))
        monkeypatch.setenv("OPENRAS_NO_AUTOSTART", "1")
        return server

    yield make
    for stop in stops:
        stop()
