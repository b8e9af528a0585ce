"""One event stream per client process and daemon, shared by every dial, watcher and
RasConnectionNotification of the process (sync and asyncio alike).

The hub lives on the process's client loop (:mod:`.bridge`). It reads ``/v1/events`` once,
keeps the newest events in a ring, and hands each event to every subscriber, each from its
own sequence number (a subscriber joining late is first given what it missed from the ring).
A stream that ends — cut off with ``overflow``, the daemon restarting — is read again from
the last sequence number seen, so no subscriber loses an event or sees one twice. A daemon
that died is started again (when the client may start one) to learn how its dials ended; one
that said it was stopping is only waited for (within the retry pauses): a stop is someone's
decision, and a process that merely listens must not undo it. Delivery
is a plain callback run on the hub's loop; :class:`HubQueue` carries events to a thread or
another event loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any

from ..codes import ErrorCode
from ..events.types import DaemonChanged, Event, Overflow
from ..paths import Paths
from . import bridge
from .api import ApiError, AsyncClient

RING = 4096
# Reconnecting after the stream was lost: the pause before each try (the daemon may be
# restarting), then give up and tell the subscribers.
RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

OnEvent = Callable[[Event], None]
OnLost = Callable[[ApiError], None]


class HubSubscription:
    def __init__(self, hub: EventHub, since: int, on_event: OnEvent, on_lost: OnLost) -> None:
        self._hub = hub
        self.since = since
        self._on_event = on_event
        self._on_lost = on_lost
        self.active = True

    def _deliver(self, event: Event) -> None:
        if self.active and event.seq > self.since:
            self.since = event.seq
            self._on_event(event)

    def _lost(self, error: ApiError) -> None:
        if self.active:
            self.active = False
            self._on_lost(error)

    def cancel(self) -> None:
        """Stop deliveries (from any thread; effective for the next event at once)."""
        self.active = False
        self._hub._discard(self)


class EventHub:
    def __init__(self, paths: Paths, autostart: bool) -> None:
        self._client = AsyncClient(paths=paths, autostart=autostart)
        self._autostart = autostart
        self._subs: set[HubSubscription] = set()
        self._ring: deque[Event] = deque(maxlen=RING)
        self._last = 0
        self._task: asyncio.Task[None] | None = None
        self._failures = 0  # stream losses in a row
        self.streams_opened = 0  # /v1/events connections made (resumes included)
        self.stopped = False  # the daemon said it was stopping, and none answered since

    # -- on the hub's loop -----------------------------------------------------------------
    def _subscribe(self, since: int, on_event: OnEvent, on_lost: OnLost) -> HubSubscription:
        sub = HubSubscription(self, since, on_event, on_lost)
        if self._task is None or self._task.done():
            self._last, self._ring = since, deque(maxlen=RING)
            self._subs.add(sub)
            self._task = asyncio.get_running_loop().create_task(self._run())
            return sub
        if since < self._last:
            oldest = self._ring[0].seq if self._ring else self._last + 1
            if since + 1 < oldest:
                # Older than the ring: the stream restarts from there; subscribers already
                # past it skip what they have seen (each keeps its own sequence number).
                self._last, self._ring = since, deque(maxlen=RING)
                self._task.cancel()
                self._subs.add(sub)
                self._task = asyncio.get_running_loop().create_task(self._run())
                return sub
            for event in list(self._ring):
                sub._deliver(event)
        self._subs.add(sub)
        return sub

    def _discard(self, sub: HubSubscription) -> None:
        self._subs.discard(sub)

    def _on_batch(self, events: list[Event]) -> None:
        """A read's events, straight from the stream's protocol (no task per event)."""
        self._failures = 0
        for event in events:
            if isinstance(event, Overflow):
                return  # cut off (the stream ends here): read again from the last event seen
            self._last = event.seq
            self._ring.append(event)
            if isinstance(event, DaemonChanged) and event.action == "stopping":
                self._client.autostart = False  # stopped on purpose: wait, never restart it
                self.stopped = True
            for sub in list(self._subs):
                sub._deliver(event)

    async def _run(self) -> None:
        self._failures = 0
        self._client.autostart = self._autostart  # a new subscriber asked: as the client may
        while True:
            try:
                self.streams_opened += 1
                stream = await self._client.open_events(self._last, self._on_batch)
                self._client.autostart = self._autostart
                self.stopped = False
                try:
                    await asyncio.shield(stream.done)
                finally:
                    stream.close()
                if stream.error is not None:
                    raise stream.error
            except asyncio.CancelledError:
                raise
            except (ApiError, OSError, RuntimeError) as exc:
                # RuntimeError: the interpreter is shutting down under the loop.
                if self._failures >= len(RETRY_PAUSES):
                    if not isinstance(exc, ApiError):
                        exc = ApiError(ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, detail=str(exc))
                    for sub in list(self._subs):
                        sub._lost(exc)
                    self._subs.clear()
                    await self._client.aclose()
                    return
                await asyncio.sleep(RETRY_PAUSES[self._failures])
                self._failures += 1
            # The stream ended (overflow, daemon stopping or lost): a new connection.
            await self._client.aclose()

    async def _subscribe_from_now(self, on_event: OnEvent, on_lost: OnLost) -> HubSubscription:
        if self._task is None or self._task.done():
            self._client.autostart = self._autostart
            since = int((await self._client.call("GET", "/v1/health"))["last_seq"])
        else:
            since = self._last  # whatever is published from now on comes after it
        return self._subscribe(since, on_event, on_lost)

    # -- from any thread -------------------------------------------------------------------
    def subscribe_from_now(self, on_event: OnEvent, on_lost: OnLost) -> HubSubscription:
        """Deliver every event published from now on (from a thread other than the hub's):
        a tagged dial subscribes before it is sent, to follow it from its first event."""
        future = asyncio.run_coroutine_threadsafe(
            self._subscribe_from_now(on_event, on_lost), bridge.loop()
        )
        return future.result()

    def subscribe(self, since: int, on_event: OnEvent, on_lost: OnLost) -> HubSubscription:
        """Deliver every event after ``since`` to ``on_event`` (run on the hub's loop)."""
        loop = bridge.loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return self._subscribe(since, on_event, on_lost)
        done: Future[HubSubscription] = Future()

        def make() -> None:
            try:
                done.set_result(self._subscribe(since, on_event, on_lost))
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(make)
        return done.result()


_hubs: dict[str, EventHub] = {}
_lock = threading.Lock()


def hub_for(paths: Paths, autostart: bool) -> EventHub:
    """The process's hub for the daemon at ``paths``."""
    key = str(paths.socket)
    with _lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = EventHub(paths, autostart)
        return hub


_END = object()


class HubQueue:
    """A subscription read as an iterator: blocking (``__iter__``, made outside any event
    loop) or on the caller's event loop (``__aiter__``). Ends with :class:`ApiError` when the
    hub gave up the daemon."""

    def __init__(self, hub: EventHub, since: int) -> None:
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._aqueue: asyncio.Queue[Any] = asyncio.Queue()
        self._squeue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.sub = hub.subscribe(since, self._put, self._put)

    def _put(self, item: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._aqueue.put_nowait, item)
        else:
            self._squeue.put(item)

    def close(self) -> None:
        self.sub.cancel()

    def __iter__(self) -> Iterator[Event]:
        try:
            while True:
                item = self._squeue.get()
                if isinstance(item, ApiError):
                    raise item
                yield item
        finally:
            self.close()

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            while True:
                item = await self._aqueue.get()
                if isinstance(item, ApiError):
                    raise item
                yield item
        finally:
            self.close()
