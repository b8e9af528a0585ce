"""``openras daemon``: the process that owns every connection.

One daemon per OPENRAS_HOME (an flock on daemon.lock); SIGTERM/SIGINT hang every link up
cleanly before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
from typing import Any

from aiohttp import web

from .. import config as config_mod
from ..context import DaemonContext
from ..events import DaemonChanged, EventBus
from ..paths import Paths, resolve
from ..ras.devices import device_key, registry
from ..ras.devices import shutdown as shutdown_devices
from ..ras.manager import ConnectionManager
from ..store import Store
from . import systemd
from .app import API_ROUTES, build_app
from .dashboard import DashboardService

log = logging.getLogger("openras")


def _prepare_dirs(paths: Paths) -> None:
    for directory in {paths.runtime, paths.state}:
        directory.mkdir(parents=True, exist_ok=True)
        # Others must reach the socket (access is then decided per peer, by SO_PEERCRED).
        os.chmod(directory, 0o755)


def _mpr_service(ctx: DaemonContext) -> Any | None:
    try:
        from .mpr_api import MprService

        return MprService(ctx)
    except Exception:
        log.exception("the network-resource router is unavailable")
        return None


async def serve(paths: Paths) -> int:
    notifier = systemd.Notifier()
    cfg = config_mod.load(paths.config_file)
    store = Store(str(paths.database))
    events = EventBus(store, cfg.replay_events, cfg.subscriber_queue, cfg.log_events)
    ctx = DaemonContext(
        paths=paths, config=cfg, store=store, events=events, log=log, uid=os.geteuid()
    )
    manager = ConnectionManager(ctx, registry(), select=device_key)
    mpr = _mpr_service(ctx)
    events.publish(DaemonChanged(action="starting", pid=os.getpid()))
    await manager.start()
    extra = []
    if mpr is not None:
        await mpr.start()
        extra = mpr.routes()
    dashboard = DashboardService(ctx)
    app = build_app(ctx, manager, extra + dashboard.routes(), mpr)
    dashboard.use_api(app[API_ROUTES])
    # No handler cancellation: a client that drops its socket must not abort a hang-up or a mapping
    # halfway. Event streams notice a gone client at their next write (keep-alive every 15 s).
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    _, activated = await systemd.api_site(runner, paths.socket, 0o666 if cfg.allow_users else 0o600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    events.publish(DaemonChanged(action="ready", pid=os.getpid()))
    log.info("openras daemon %d listening on %s", os.getpid(), paths.socket)
    print(f"openras daemon ready on {paths.socket}", flush=True)
    notifier.ready(f"serving on {paths.socket}, {len(manager.conns)} connection(s)")
    await stop.wait()
    log.info("shutting down: hanging up %d connection(s)", len(manager.conns))
    events.publish(DaemonChanged(action="stopping", pid=os.getpid()))
    notifier.stopping(f"hanging up {len(manager.conns)} connection(s)")
    await manager.stop()
    await shutdown_devices()
    if mpr is not None:
        await mpr.stop()
    events.close_all()
    await dashboard.stop()
    if not activated:  # a handed-in socket is systemd's to keep for the next activation
        with contextlib.suppress(FileNotFoundError):
            os.unlink(paths.socket)
    await runner.cleanup()
    store.close()
    return 0


def run(home: str | None = None, verbose: bool = False) -> int:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format=systemd.log_format(),
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    paths = resolve(home)
    _prepare_dirs(paths)
    lock = open(paths.lock, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("another daemon already serves %s", paths.runtime)
        return 0
    try:
        return asyncio.run(serve(paths))
    finally:
        lock.close()
