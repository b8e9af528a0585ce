"""Prometheus metrics: ``/metrics`` on the API socket, an opt-in loopback port, a textfile.

Written with ``prometheus_client``: counters and histograms fed by the event stream (an
in-process observer of the bus), and a collector that reads the manager's and the router's
state at each scrape (per-connection state and, when the manager offers ``statistics``, traffic).

``openras.toml``::

    [metrics]
    listen = "127.0.0.1:9477"      # opt-in HTTP listener, loopback addresses only
    textfile = "/var/lib/prometheus/node-exporter/openras.prom"  # node_exporter textfile
    textfile_interval = 15         # seconds between rewrites (atomic: write, then rename)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, exposition, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from ..codes import ErrorCode, RasError, error_name, state_name
from ..context import DaemonContext
from ..events import (
    ConnectionEvent,
    Event,
    HookRan,
    NetChanged,
    Notify,
    NotifyeeReport,
    Phase,
    Redialing,
    StateChanged,
)
from ..ras.manager import ConnectionManager

# The classic text format (0.0.4) every Prometheus version reads; newer clients also offer 1.0.0.
CONTENT_TYPE = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", exposition.CONTENT_TYPE_LATEST)
DIAL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
HOOK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0)
CONNECTION_LABELS = ["handle", "entry", "device_type"]


@dataclass(frozen=True)
class MetricsSettings:
    listen: tuple[str, int] | None = None
    textfile: Path | None = None
    textfile_interval: float = 15.0

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> MetricsSettings:
        section = raw.get("metrics", {})
        if not isinstance(section, dict):
            raise _bad("[metrics] must be a table")
        listen = section.get("listen")
        textfile = section.get("textfile")
        interval = section.get("textfile_interval", 15.0)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise _bad("metrics.textfile_interval must be a positive number")
        if textfile is not None and (not isinstance(textfile, str) or not os.path.isabs(textfile)):
            raise _bad("metrics.textfile must be an absolute path")
        return cls(
            listen=None if listen is None else _loopback(listen),
            textfile=Path(textfile) if textfile else None,
            textfile_interval=float(interval),
        )


def _bad(text: str) -> RasError:
    return RasError(ErrorCode.ERROR_INVALID_PARAMETER, text)


def _loopback(value: Any) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) on a loopback address."""
    if not isinstance(value, str):
        raise _bad('metrics.listen must be "host:port"')
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(f'metrics.listen must be "host:port", not {value!r}')
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise _bad(f"metrics.listen: {host!r} is not an IP address") from None
    if not address.is_loopback:
        # Metrics name entries and users: the port stays on this machine (a scraper on another
        # one reads them through node_exporter's textfile, or a proxy its operators choose).
        raise _bad(f"metrics.listen: {host} is not a loopback address")
    return str(address), int(port)


class Metrics:
    """The daemon's registry: event-fed counters and histograms plus a state collector."""

    def __init__(
        self, ctx: DaemonContext, manager: ConnectionManager, mpr: Any | None = None
    ) -> None:
        self.ctx = ctx
        self.manager = manager
        self.mpr = mpr
        self.registry = CollectorRegistry()
        reg = self.registry
        self.dial_duration = Histogram(
            "openras_dial_duration_seconds",
            "From the dial's first state to Connected or to its failure.",
            ["device_type", "outcome"],
            buckets=DIAL_BUCKETS,
            registry=reg,
        )
        self.dial_failures = Counter(
            "openras_dial_failures",
            "Dials (and redial attempts) that failed, by RAS error code.",
            ["entry", "device_type", "code", "name"],
            registry=reg,
        )
        self.link_failures = Counter(
            "openras_link_failures",
            "Connected links that went down without a hang-up, by RAS error code.",
            ["entry", "device_type", "code", "name"],
            registry=reg,
        )
        self.redials = Counter(
            "openras_redials", "Automatic redial attempts.", ["entry"], registry=reg
        )
        self.hook_runs = Counter(
            "openras_hook_runs", "Per-connection hook runs.", ["stage", "outcome"], registry=reg
        )
        self.hook_duration = Histogram(
            "openras_hook_duration_seconds",
            "How long per-connection hooks ran.",
            ["stage"],
            buckets=HOOK_BUCKETS,
            registry=reg,
        )
        self.net_operations = Counter(
            "openras_net_operations",
            "MPR connections made, cancelled, forgotten or restored.",
            ["action", "provider"],
            registry=reg,
        )
        self.notifyee_failures = Counter(
            "openras_notifyee_failures",
            "Notifyee calls that failed or were skipped.",
            ["notifyee", "operation", "phase"],
            registry=reg,
        )
        ProcessCollector(registry=reg)
        reg.register(_StateCollector(self))
        self._dial_started: dict[int, float] = {}
        ctx.events.observe(self.observe)

    # -- fed by the event stream -------------------------------------------------------------
    def observe(self, event: Event) -> None:
        if isinstance(event, ConnectionEvent):
            self._connection_event(event)
        elif isinstance(event, HookRan):
            self.hook_runs.labels(event.stage.value, event.outcome.value).inc()
            self.hook_duration.labels(event.stage.value).observe(event.duration)
        elif isinstance(event, NetChanged):
            self.net_operations.labels(event.action, event.provider).inc()
        elif isinstance(event, NotifyeeReport):
            self.notifyee_failures.labels(event.notifyee, event.operation, event.phase).inc()

    def _connection_event(self, event: ConnectionEvent) -> None:
        handle = event.handle
        if isinstance(event, Redialing):
            self.redials.labels(event.entry).inc()
            self._dial_started[handle] = event.time
            return
        if event.phase is Phase.DIALING:
            self._dial_started.setdefault(handle, event.time)
            return
        if not isinstance(event, StateChanged):
            if event.phase is Phase.RELEASED:
                self._dial_started.pop(handle, None)
            return
        started = self._dial_started.pop(handle, None)
        if event.phase is Phase.CONNECTED:
            if started is not None:
                self.dial_duration.labels(event.device_type, "connected").observe(
                    max(event.time - started, 0.0)
                )
        elif event.phase is Phase.FAILED:
            labels = (event.entry, event.device_type, str(event.error), error_name(event.error))
            if event.notify is Notify.DISCONNECTION:
                self.link_failures.labels(*labels).inc()
            else:
                self.dial_failures.labels(*labels).inc()
                if started is not None:
                    self.dial_duration.labels(event.device_type, "failed").observe(
                        max(event.time - started, 0.0)
                    )

    # -- exposition ------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def handler(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


class _StateCollector:
    """What exists at scrape time: connections, their state and traffic, MPR mappings, the bus."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        manager = self.m.manager
        conns = sorted(manager.conns.values(), key=lambda c: c.handle)
        by_phase = GaugeMetricFamily(
            "openras_connections", "Connection handles by phase.", labels=["phase"]
        )
        for phase in Phase:
            if phase is not Phase.RELEASED:
                by_phase.add_metric([phase.value], sum(1 for c in conns if c.phase is phase))
        yield by_phase
        for name, value in manager.stats.items():
            family = CounterMetricFamily(
                f"openras_{name}", f"Connection manager count: {name.replace('_', ' ')}."
            )
            family.add_metric([], value)
            yield family
        info = GaugeMetricFamily(
            "openras_connection_info",
            "One per connection handle; its fields as labels.",
            labels=[*CONNECTION_LABELS, "phonebook", "owner_uid", "phase", "state_name"],
        )
        up = GaugeMetricFamily(
            "openras_connection_up", "1 when the handle is connected.", labels=CONNECTION_LABELS
        )
        state = GaugeMetricFamily(
            "openras_connection_state", "The handle's RASCS state.", labels=CONNECTION_LABELS
        )
        error = GaugeMetricFamily(
            "openras_connection_error",
            "The handle's RAS error code (0: none).",
            labels=CONNECTION_LABELS,
        )
        since = GaugeMetricFamily(
            "openras_connection_connected_since_seconds",
            "When the handle connected (Unix time).",
            labels=CONNECTION_LABELS,
        )
        refs = GaugeMetricFamily(
            "openras_connection_references", "RasDial references held.", labels=CONNECTION_LABELS
        )
        statistics: dict[str, GaugeMetricFamily] = {}
        read_statistics = getattr(manager, "statistics", None)
        for c in conns:
            labels = [str(c.handle), c.entry_name, c.device.device_type]
            info.add_metric(
                [*labels, c.phonebook, str(c.owner_uid), c.phase.value, state_name(c.state)], 1
            )
            up.add_metric(labels, 1 if c.phase is Phase.CONNECTED else 0)
            state.add_metric(labels, int(c.state))
            error.add_metric(labels, c.error)
            refs.add_metric(labels, len(c.refs))
            if c.phase is Phase.CONNECTED and c.connected_at is not None:
                since.add_metric(labels, c.connected_at)
            if callable(read_statistics) and c.phase is Phase.CONNECTED:
                self._statistics(read_statistics, c.handle, labels, statistics)
        yield from (info, up, state, error, since, refs, *statistics.values())
        yield from self._mpr()
        bus = self.m.ctx.events
        seq = GaugeMetricFamily("openras_event_seq", "The last event's sequence number.")
        seq.add_metric([], bus.last_seq)
        subscribers = GaugeMetricFamily(
            "openras_event_subscribers", "Event-stream subscribers now."
        )
        subscribers.add_metric([], bus.subscribers)
        cut_offs = CounterMetricFamily(
            "openras_event_cutoffs", "Subscribers cut off for lagging behind."
        )
        cut_offs.add_metric([], bus.cut_offs)
        pending = GaugeMetricFamily(
            "openras_store_pending",
            "Records and events held in memory until the disk has room for them.",
        )
        pending.add_metric([], self.m.ctx.store.pending)
        yield from (seq, subscribers, cut_offs, pending)

    @staticmethod
    def _statistics(
        read: Any, handle: int, labels: list[str], families: dict[str, GaugeMetricFamily]
    ) -> None:
        """Traffic statistics of a connected handle (``ConnectionManager.statistics``)."""
        try:
            stats = read(handle)
        except Exception:
            return  # a link that cannot say is left out of this scrape, not the whole page
        if not dataclasses.is_dataclass(stats):
            return
        for f in dataclasses.fields(stats):
            value = getattr(stats, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            family = families.get(f.name)
            if family is None:
                family = families[f.name] = GaugeMetricFamily(
                    f"openras_connection_{f.name}",
                    f"Link statistic {f.name} (RAS_STATS).",
                    labels=CONNECTION_LABELS,
                )
            family.add_metric(labels, value)

    def _mpr(self) -> Iterator[Metric]:
        router = getattr(self.m.mpr, "router", None)
        if router is None:
            return
        mappings = GaugeMetricFamily(
            "openras_net_connections", "MPR connections now, by provider.", labels=["provider"]
        )
        counts: dict[str, int] = {}
        for c in list(router.connections.values()):
            counts[c.provider] = counts.get(c.provider, 0) + 1
        for provider in [p.name for p in router.providers]:
            counts.setdefault(provider, 0)
        for provider, n in sorted(counts.items()):
            mappings.add_metric([provider], n)
        yield mappings


class Exporters:
    """The opt-in outlets beyond the API socket: a loopback HTTP port and a textfile."""

    def __init__(self, metrics: Metrics, settings: MetricsSettings, log: Any) -> None:
        self.metrics = metrics
        self.settings = settings
        self.log = log
        self._runner: web.AppRunner | None = None
        self._writer: asyncio.Task[None] | None = None

    async def start(self, app: web.Application | None = None) -> None:
        if self.settings.listen is not None:
            host, port = self.settings.listen
            outlet = web.Application()
            outlet.router.add_get("/metrics", self.metrics.handler)
            self._runner = web.AppRunner(outlet, access_log=None)
            await self._runner.setup()
            try:
                await web.TCPSite(self._runner, host, port).start()
                self.log.info("metrics on http://%s:%d/metrics", host, port)
            except OSError as exc:
                self.log.error("metrics: cannot listen on %s:%d: %s", host, port, exc.strerror)
        if self.settings.textfile is not None:
            self._writer = asyncio.create_task(self._write_loop(self.settings.textfile))

    async def stop(self, app: web.Application | None = None) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._runner is not None:
            await self._runner.cleanup()

    async def _write_loop(self, path: Path) -> None:
        while True:
            data = self.metrics.render()  # on the loop: the collector reads live state
            try:
                await asyncio.to_thread(write_atomically, path, data)
            except OSError as exc:
                self.log.warning("metrics: cannot write %s: %s", path, exc)
            await asyncio.sleep(self.settings.textfile_interval)


def write_atomically(path: Path, data: bytes) -> None:
    """node_exporter must never read half a file: write a temporary one, then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def install(app: web.Application, ctx: DaemonContext, manager: ConnectionManager, mpr: Any) -> None:
    """``/metrics`` on the API, and the configured outlets started and stopped with the app."""
    metrics = Metrics(ctx, manager, mpr)
    exporters = Exporters(metrics, MetricsSettings.from_config(ctx.config.raw), ctx.log)
    app.router.add_get("/metrics", metrics.handler)
    app.on_startup.append(exporters.start)
    app.on_cleanup.append(exporters.stop)
