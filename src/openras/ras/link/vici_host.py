"""The daemon's charon and its VICI plumbing: commands in threads, events fed to the loop.

The ``vici`` package is synchronous. Commands run in worker threads (``asyncio.to_thread``), each
on a session of its own (a session is one socket: not shared between threads). Events (``log``,
``ike-updown``, ``child-updown``) are read by one dedicated thread and handed to the event loop
with ``call_soon_threadsafe``, to the sink registered under the IKE_SA's connection name. When
charon dies every sink gets a ``CHARON_GONE`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .charon import Charon, CharonSettings

log = logging.getLogger("openras.charon")


class IkeEventKind(Enum):
    LOG = "log"
    IKE_UPDOWN = "ike-updown"
    CHILD_UPDOWN = "child-updown"
    CHARON_GONE = "charon-gone"


@dataclass(frozen=True)
class IkeEvent:
    kind: IkeEventKind
    name: str  # the connection (= IKE_SA) name
    message: str = ""  # LOG: charon's message
    up: bool = False  # *_UPDOWN: up (True) or down
    sa: Mapping[str, Any] = field(default_factory=dict)  # *_UPDOWN: the IKE_SA, values decoded


def decode(value: Any) -> Any:
    """VICI values are bytes, lists and (ordered) dicts of them: make them str (certificate
    ``data`` stays DER bytes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): v if k == "data" else decode(v) for k, v in value.items()}
    return value


def parse_event(event_type: bytes, message: Mapping[str, Any]) -> list[IkeEvent]:
    kind = event_type.decode()
    if kind == "log":
        name = message.get("ikesa-name")
        if not name:
            return []
        return [IkeEvent(IkeEventKind.LOG, decode(name), decode(message.get("msg", b"")))]
    up = message.get("up") == b"yes"
    out = []
    for key, value in message.items():
        if key != "up" and isinstance(value, Mapping):
            out.append(IkeEvent(IkeEventKind(kind), key, up=up, sa=decode(value)))
    return out


class ViciHost:
    """Owns the daemon's charon (started on first use) and routes its events by connection name."""

    def __init__(self, directory: Path, settings: CharonSettings) -> None:
        self.dir = directory
        self.settings = settings
        self.charon: Charon | None = None
        self.sinks: dict[str, Callable[[IkeEvent], None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listen_sock: socket.socket | None = None
        self._stopping = False
        self._lock = asyncio.Lock()

    # -- life cycle --------------------------------------------------------------------------

    async def ensure(self) -> None:
        """Start charon and the event thread unless they run; restart a charon that died."""
        async with self._lock:
            if (
                self.charon is not None
                and self.charon.alive()
                and self._thread is not None
                and self._thread.is_alive()
            ):
                return
            await self._stop_locked()
            self._stopping = False
            self._loop = asyncio.get_running_loop()
            charon = Charon(self.dir, self.settings)
            await asyncio.to_thread(charon.start)
            self.charon = charon
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, args=(ready,), name="openras-vici-events", daemon=True
            )
            self._thread.start()
            if not await asyncio.to_thread(ready.wait, 10.0):
                raise RuntimeError("cannot subscribe to charon's events")
            log.info(
                "charon %d started (VICI %s)",
                charon.proc.pid if charon.proc else 0,
                charon.vici_path,
            )

    async def stop(self) -> None:
        async with self._lock:
            await self._stop_locked()

    async def _stop_locked(self) -> None:
        self._stopping = True
        sock, self._listen_sock = self._listen_sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self.charon is not None:
            charon, self.charon = self.charon, None
            await asyncio.to_thread(charon.stop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
            self._thread = None

    # -- commands ----------------------------------------------------------------------------

    def _session(self) -> Any:
        import vici

        assert self.charon is not None
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(30)
        sock.connect(str(self.charon.vici_path))
        return vici.Session(sock)

    def _call_sync(self, command: str, message: Mapping[str, Any] | None) -> Any:
        session = self._session()
        try:
            return decode(session.request(command, dict(message) if message is not None else None))
        finally:
            session.transport.socket.close()

    async def call(self, command: str, message: Mapping[str, Any] | None = None) -> Any:
        """One VICI command (raises vici.exception.CommandException when charon says no)."""
        return await asyncio.to_thread(self._call_sync, command, message)

    def _list_sync(self, command: str, event: str, message: Mapping[str, Any] | None) -> list[Any]:
        session = self._session()
        try:
            return [
                decode(m) for m in session.streamed_request(command, event, dict(message or {}))
            ]
        finally:
            session.transport.socket.close()

    async def listing(
        self, command: str, event: str, message: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """A streamed listing (list-sas → list-sa events, list-certs → list-cert events)."""
        return await asyncio.to_thread(self._list_sync, command, event, message)

    # -- events ------------------------------------------------------------------------------

    def register(self, name: str, sink: Callable[[IkeEvent], None]) -> None:
        self.sinks[name] = sink

    def unregister(self, name: str) -> None:
        self.sinks.pop(name, None)

    def _deliver(self, events: list[IkeEvent]) -> None:
        for event in events:
            sink = self.sinks.get(event.name)
            if sink is not None:
                try:
                    sink(event)
                except Exception:
                    log.exception("IKE event sink %s failed", event.name)

    def _gone(self) -> None:
        for name, sink in list(self.sinks.items()):
            with contextlib.suppress(Exception):
                sink(IkeEvent(IkeEventKind.CHARON_GONE, name))

    def _listen(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        try:
            session = self._session()
            self._listen_sock = session.transport.socket
            session.transport.socket.settimeout(None)
            events = session.listen(["log", "ike-updown", "child-updown"], timeout=None)
            ready.set()
            for event_type, message in events:
                if event_type is None:
                    continue
                parsed = parse_event(event_type, message)
                if parsed:
                    loop.call_soon_threadsafe(self._deliver, parsed)
        except Exception as exc:  # the socket closed: charon exited, or stop() shut it
            if not self._stopping:
                log.warning("charon's event stream ended: %r", exc)
        finally:
            ready.set()
            if not self._stopping:
                with contextlib.suppress(RuntimeError):  # the loop may be closed at exit
                    loop.call_soon_threadsafe(self._gone)
