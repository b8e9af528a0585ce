"""One ordered event stream: every published event gets a sequence number.

Per-dial notifications and RasConnectionNotification are views (filters) of this stream.
Events are kept in a replay ring (and in the store's log), so a subscriber can resume from
any sequence number: subscribe-then-read races cannot lose an event. A subscriber that falls
``queue_size`` events behind is cut off with an explicit :class:`Overflow` event carrying the
last sequence number it was given; it never stalls :meth:`EventBus.publish`.

:meth:`EventBus.publish` encodes an event once (its JSON and its Server-Sent-Events frame),
hands it to every subscriber synchronously (a stream subscriber writes it straight to its
socket: no task or timer per subscriber and event), and only then queues it for the store's
log, which is written in batches off the event loop (:mod:`openras.store_batch`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import NamedTuple, Protocol, TypeVar

from ..store import Store
from ..timeouts import within
from .types import Event, EventKind, Overflow, decode, encode_json

Predicate = Callable[[Event], bool]
SEQ_BLOCK = 1024
E = TypeVar("E", bound=Event)


class Item(NamedTuple):
    """An event encoded once for every subscriber: its SSE frame as one HTTP/1.1 chunk. The
    ring of recent events holds these, so only the chunk is kept: the bare frame (for an
    HTTP/1.0 client) is cut out of it when asked for."""

    event: Event
    chunk: bytes

    @property
    def frame(self) -> bytes:
        return self.chunk[self.chunk.index(b"\r\n") + 2 : -2]


def make_item(event: Event, body: bytes) -> Item:
    """``body``: the event's JSON, ``encode_json(event)``."""
    head = b"id: %d\nevent: %s\ndata: " % (event.seq, event.kind.value.encode())
    size = len(head) + len(body) + 2
    return Item(event, b"".join((b"%x\r\n" % size, head, body, b"\n\n\r\n")))


def overflow_item(last: int) -> Item:
    overflow = Overflow(seq=last, time=time.time(), resume_from=last)
    return make_item(overflow, encode_json(overflow))


class Sink(Protocol):
    """A subscriber: the bus offers it each event, in order, synchronously."""

    closed: bool

    def _offer(self, item: Item) -> None: ...

    def close(self) -> None: ...


class Subscription:
    def __init__(self, bus: EventBus, predicate: Predicate | None, limit: int) -> None:
        self._bus = bus
        self._predicate = predicate
        self._limit = limit
        self._queue: deque[Item] = deque()
        self._wakeup = asyncio.Event()
        self.last_seq = 0
        self.closed = False

    def _offer(self, item: Item) -> None:
        if self.closed or (self._predicate is not None and not self._predicate(item[0])):
            return
        if len(self._queue) >= self._limit:
            self._bus.cut_offs += 1
            self._cut_off()
        else:
            self._queue.append(item)
        self._wakeup.set()

    def _cut_off(self) -> None:
        """What is queued is still delivered, then the overflow event, then the end."""
        last = self._queue[-1][0].seq if self._queue else self.last_seq
        self._queue.append(overflow_item(last))
        self.closed = True
        self._bus._drop(self)
        self._wakeup.set()

    async def next_encoded(self, timeout: float | None = None) -> Item | None:  # noqa: ASYNC109
        """The next event (with its encodings); None at the end of the stream or on timeout."""
        while not self._queue:
            if self.closed:
                return None
            self._wakeup.clear()
            try:
                await within(self._wakeup.wait(), timeout)
            except TimeoutError:
                return None
        item = self._queue.popleft()
        if item[0].kind is not EventKind.OVERFLOW:
            self.last_seq = item[0].seq
        return item

    def pending(self) -> int:
        return len(self._queue)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (item := await self.next_encoded()) is not None:
            yield item[0]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._drop(self)
            self._wakeup.set()


class EventBus:
    def __init__(
        self, store: Store, replay: int = 4096, queue_size: int = 1024, log_keep: int = 100_000
    ) -> None:
        self._store = store
        # Sequence numbers are handed out before the log is written: a block of them is
        # reserved in the store first, so a daemon killed with events unwritten never hands
        # out a number twice (after a crash the numbers skip to the end of the block).
        self._seq = max(store.last_seq(), int(store.get_meta("seq_reserved") or 0))
        self._reserved = self._seq
        self._ring: deque[Item] = deque(maxlen=max(replay, 1))
        # Subscribers grouped by client process (a stream's peer pid; 0 for in-process ones),
        # and the fan-out order made of them: one process's streams are written one after the
        # other, so each event wakes a client process once, not once per stream of it (woken
        # readers preempt the daemon mid-fan-out).
        self._groups: dict[int, dict[Sink, None]] = {}
        self._order: list[Sink] = []
        self._queue_size = max(queue_size, 1)
        self._log_keep = log_keep
        self._since_trim = 0
        self._observers: list[Callable[[Event], None]] = []
        self.cut_offs = 0  # subscribers cut off for lagging behind

    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, event: E) -> E:
        """Number, log and fan out ``event``; returns it with its sequence number and time."""
        self._seq += 1
        if self._seq > self._reserved:
            self._reserved = self._seq + SEQ_BLOCK - 1
            self._store.set_meta("seq_reserved", str(self._reserved))
        if event.seq == 0:
            # A fresh event is handed over to the bus: numbering it in place spares copying
            # every field (dataclasses.replace) on the event path.
            object.__setattr__(event, "seq", self._seq)
            object.__setattr__(event, "time", time.time())
        else:
            event = dataclasses.replace(event, seq=self._seq, time=time.time())
        body = encode_json(event)
        item = make_item(event, body)
        self._ring.append(item)
        for sub in self._order:  # a drop makes a new list: this one stays as it was
            sub._offer(item)
        # The log after the fan-out, in batches off the loop.
        self._store.later.event(self._seq, event.time, getattr(event, "handle", None), body)
        self._since_trim += 1
        if self._since_trim >= 1000:
            self._since_trim = 0
            self._store.later.trim_events(self._log_keep)
        for observer in self._observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not lose the event for the others
                logging.getLogger("openras.events").exception("event observer failed")
        return event

    def observe(self, observer: Callable[[Event], None]) -> None:
        """Call ``observer`` with every event published from now on (in-process, e.g. metrics)."""
        self._observers.append(observer)

    def subscribe(
        self,
        since: int | None = None,
        predicate: Predicate | None = None,
        queue_size: int | None = None,
    ) -> Subscription:
        """Events after ``since`` (None = only new ones), filtered by ``predicate``."""
        limit = queue_size or self._queue_size
        backlog = self._replay(since) if since is not None and since < self._seq else []
        # The replayed backlog does not count against the subscriber's lag allowance.
        sub = Subscription(self, predicate, limit + len(backlog))
        truncated = bool(backlog) and backlog[-1][0].seq < self._seq
        for item in backlog:
            sub._offer(item)
        if truncated:
            # The log read was cut short: end this stream with the explicit cut-off; the
            # subscriber resumes from there (the same mechanism pages through a long backlog).
            sub._cut_off()
            return sub
        sub._limit = limit + sub.pending()
        self.attach(sub)
        return sub

    def backlog(self, since: int | None) -> tuple[list[Item], bool]:
        """What a subscriber resuming after ``since`` must be given first, and whether that is
        only a page of it (the subscriber is then cut off after it, and resumes)."""
        items = self._replay(since) if since is not None and since < self._seq else []
        return items, bool(items) and items[-1].event.seq < self._seq

    def attach(self, sink: Sink, group: int = 0) -> None:
        """Offer ``sink`` every event published from now on (its backlog given by the caller);
        ``group``: the client process it belongs to (its streams are written together)."""
        self._groups.setdefault(group, {})[sink] = None
        self._reorder()

    def _reorder(self) -> None:
        self._order = [sink for members in self._groups.values() for sink in members]

    def logged(self, since: int, limit: int) -> list[Event]:
        """Events of the log after ``since`` (kinds this version knows), with those still on
        their way to the store (the newest, all in the ring)."""
        if self._ring and since < self._ring[0].event.seq - 1:
            self._store.later.flush()  # what the ring no longer holds must be in the log
        events = [
            e for d in self._store.events_since(since, limit=limit) if (e := decode(d)) is not None
        ]
        last = events[-1].seq if events else since
        if len(events) < limit:
            newer = [i.event for i in self._ring if i.event.seq > last]
            events += newer[: limit - len(events)]
        return events

    def _replay(self, since: int) -> list[Item]:
        if self._ring and self._ring[0][0].seq <= since + 1:
            return [item for item in self._ring if item[0].seq > since]
        # Older than the ring: read the log (bounded), then the ring.
        older = [make_item(e, encode_json(e)) for e in self.logged(since, self._queue_size * 4)]
        first_ring = self._ring[0][0].seq if self._ring else self._seq + 1
        if older and older[-1][0].seq < first_ring - 1:
            return older  # a page of the log; the caller ends the stream with a cut-off
        return [i for i in older if i[0].seq < first_ring] + list(self._ring)

    def close_all(self) -> None:
        """End every subscription (daemon shutdown): their streams finish instead of lingering.
        The log is written out, and the next daemon numbers on from the last event."""
        for sub in self._order:
            sub.close()
        self._store.later.flush()
        self._reserved = self._seq
        self._store.set_meta("seq_reserved", str(self._seq))

    def _drop(self, sub: Sink) -> None:
        for group, members in self._groups.items():
            if sub in members:
                del members[sub]
                if not members:
                    del self._groups[group]
                self._reorder()
                return

    @property
    def queue_size(self) -> int:
        return self._queue_size

    @property
    def subscribers(self) -> int:
        return len(self._order)
