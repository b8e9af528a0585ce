"""``openras daemon``: the process that owns every connection.

One daemon per OPENRAS_HOME (see single.py); SIGTERM/SIGINT hang every link up
cleanly before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from . import logs, single, systemd
from .app import API_ROUTES, build_app
from .conn_guard import ConnectionGuard
from .dashboard import DashboardService
from .reload import reload

log = logging.getLogger("openras")


def _prepare_dirs(paths: Paths) -> None:
    for directory in {paths.runtime, paths.state}:
        # A directory the daemon creates: others reach a root daemon's socket (access is then
        # decided per peer, by SO_PEERCRED); a user's own instance stays private. An existing
        # directory keeps the mode its owner chose.
        with contextlib.suppress(FileExistsError):
            directory.parent.mkdir(parents=True, exist_ok=True)
            directory.mkdir(0o755 if os.geteuid() == 0 else 0o700)


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
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, keepalive_timeout=cfg.idle_timeout
    )
    await runner.setup()
    guard = ConnectionGuard(cfg.max_connections_per_user, os.geteuid())
    mode = 0o666 if cfg.allow_users else 0o600
    _, activated = await systemd.api_site(runner, paths.socket, mode, guard)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload, ctx)
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
    paths = resolve(home, daemon=True)
    logs.setup(
        paths.log,
        logging.DEBUG if verbose else logging.INFO,
        *logs.limits(paths.config_file),
        fmt=systemd.log_format(),
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    _prepare_dirs(paths)
    try:
        lock = single.acquire(paths, handed=systemd.socket_handed())
    except single.NotStarted as exc:
        log.error("not starting: %s", exc.message)
        print(f"openras daemon: {exc.message}", file=sys.stderr)
        return exc.code
    try:
        return asyncio.run(serve(paths))
    finally:
        os.close(lock)
