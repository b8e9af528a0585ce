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
from ..paths import ALREADY_SERVING, Paths, resolve
from ..ras.devices import device_key, registry
from ..ras.devices import shutdown as shutdown_devices
from ..ras.manager import ConnectionManager
from ..store import Store
from .app import build_app
from .reload import reload

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
    app = build_app(ctx, manager, extra)
    # No handler cancellation: a client that drops its socket must not abort a hang-up or a mapping
    # halfway. Event streams notice a gone client at their next write (keep-alive every 15 s).
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.socket)
    site = web.UnixSite(runner, str(paths.socket))
    await site.start()
    os.chmod(paths.socket, 0o666 if cfg.allow_users else 0o600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload, ctx)
    events.publish(DaemonChanged(action="ready", pid=os.getpid()))
    log.info("openras daemon %d listening on %s", os.getpid(), paths.socket)
    print(f"openras daemon ready on {paths.socket}", flush=True)
    await stop.wait()
    log.info("shutting down: hanging up %d connection(s)", len(manager.conns))
    events.publish(DaemonChanged(action="stopping", pid=os.getpid()))
    await manager.stop()
    await shutdown_devices()
    if mpr is not None:
        await mpr.stop()
    events.close_all()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.socket)
    await runner.cleanup()
    store.close()
    return 0


def run(home: str | None = None, verbose: bool = False) -> int:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    paths = resolve(home, daemon=True)
    _prepare_dirs(paths)
    lock = open(paths.lock, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.error("another daemon already serves %s", paths.runtime)
        print(f"openras daemon: another daemon already serves {paths.socket}", file=sys.stderr)
        return ALREADY_SERVING
    try:
        return asyncio.run(serve(paths))
    finally:
        lock.close()
