"""``GET /v1/events``: each client's events written straight to its socket.

The bus encodes an event once (its SSE frame, and that frame as an HTTP/1.1 chunk); a
:class:`StreamSink` writes those bytes to its client's transport as the bus publishes, with no
task, queue or timer per event. The transport's write buffer is the subscriber's queue: past
its bound the client is cut off with the ``overflow`` event (what was written before is still
delivered) and resumes from its ``resume_from``; the daemon never waits for a slow reader.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import HttpVersion11, web

from ..events import Event, EventBus
from ..events.bus import Item, overflow_item
from ..timeouts import within
from .http import peer

SSE_KEEPALIVE = 15.0
SSE_WRITE_TIMEOUT = 30.0
# The subscriber_queue setting counts events; a socket's backlog is bytes: allow this many
# bytes an event.
BYTES_PER_EVENT = 1024
KEEPALIVE = b": keepalive\n\n"
KEEPALIVE_CHUNK = b"%x\r\n%s\r\n" % (len(KEEPALIVE), KEEPALIVE)


class StreamSink:
    def __init__(
        self,
        bus: EventBus,
        transport: asyncio.Transport,
        predicate: Any,
        chunked: bool,
        limit: int,
        group: int = 0,
    ) -> None:
        self._bus = bus
        self._group = group  # the client's pid: the bus writes one process's streams together
        self._transport = transport
        self._predicate = predicate
        self._chunked = chunked
        self._limit = limit
        self._stalled = 0  # keep-alives in a row that found the client's backlog not shrinking
        self._backlog_seen = 0
        self.last_seq = 0
        self.closed = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def _write(self, item: Item) -> None:
        self._transport.write(item.chunk if self._chunked else item.frame)

    def _offer(self, item: Item) -> None:
        # The fan-out's inner loop (every event, every stream): locals, and the write inline.
        if self.closed:
            return
        transport = self._transport
        if transport.is_closing():  # the client went away
            self._end()
            return
        event: Event = item.event
        predicate = self._predicate
        if predicate is not None and not predicate(event):
            return
        transport.write(item.chunk if self._chunked else item.frame)
        self.last_seq = event.seq
        if transport.get_write_buffer_size() > self._limit:
            self.cut_off()

    def start(self, backlog: list[Item], truncated: bool) -> None:
        """Write the backlog (it does not count against the bound), then follow the bus."""
        for item in backlog:
            if self._predicate is None or self._predicate(item.event):
                self._write(item)
                self.last_seq = item.event.seq
        if truncated:
            self.cut_off()
            return
        self._limit += self._transport.get_write_buffer_size()
        self._bus.attach(self, self._group)

    def cut_off(self) -> None:
        if not self.closed:
            self._write(overflow_item(self.last_seq))
            self._end()

    def keepalive(self) -> None:
        """Every SSE_KEEPALIVE: a comment line; a client whose backlog has not shrunk for
        SSE_WRITE_TIMEOUT is cut off."""
        if self.closed:
            return
        if self._transport.is_closing():
            self._end()
            return
        pending = self._transport.get_write_buffer_size()
        self._stalled = self._stalled + 1 if pending and pending >= self._backlog_seen else 0
        self._backlog_seen = pending
        if self._stalled * SSE_KEEPALIVE >= SSE_WRITE_TIMEOUT:
            self.cut_off()
            return
        comment = b": keepalive\n\n"
        self._transport.write(
            b"%x\r\n%s\r\n" % (len(comment), comment) if self._chunked else comment
        )

    def close(self) -> None:
        self._end()

    def _end(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._drop(self)
        if not self.done.done():
            self.done.set_result(None)


async def stream_events(
    request: web.Request, bus: EventBus, since: int | None, predicate: Any, queue_size: int
) -> web.StreamResponse:
    start = bus.last_seq if since is None else since
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    # A stream that ends (overflow, daemon stopping) ends its connection: clients see EOF.
    response.force_close()
    chunked = request.version >= HttpVersion11
    if chunked:
        response.enable_chunked_encoding()  # the bus's frames come pre-chunked
    await response.prepare(request)
    transport = request.transport
    try:
        await response.write(f": openras events, last seq {bus.last_seq}\n\n".encode())
    except ConnectionResetError:
        return response
    if transport is None or transport.is_closing():
        return response
    assert isinstance(transport, asyncio.Transport)
    limit = queue_size * BYTES_PER_EVENT
    sink = StreamSink(bus, transport, predicate, chunked, limit, peer(request).pid)
    # No await from here to attach: nothing published meanwhile can be missed.
    sink.start(*bus.backlog(start))
    try:
        while not sink.done.done():
            with contextlib.suppress(TimeoutError):
                await within(asyncio.shield(sink.done), SSE_KEEPALIVE)
            sink.keepalive()
    finally:
        sink.close()
    with contextlib.suppress(Exception):
        await within(response.write_eof(), SSE_WRITE_TIMEOUT)
    if not transport.is_closing():
        transport.close()
    # A client that never reads must not keep the socket: drop it after the time-out.
    asyncio.get_running_loop().call_later(SSE_WRITE_TIMEOUT, transport.abort)
    return response
