"""``GET /v1/events`` read straight off the daemon's socket: the clients' hot path.

Through httpx an event cost a reader a few hundred µs of CPU (anyio, h11, text and line
decoding of every SSE line): with a hundred subscribers on two cores that, not the socket, set
the notification latency. The stream is one request whose answer is a status line, headers
and then one HTTP/1.1 chunk per SSE frame until the daemon ends it, so :class:`StreamParser`
(sans-IO, as the PPP engine is) reads it in a few µs an event, and :class:`AsyncEventStream`
(an asyncio protocol) and :func:`blocking_events` (a plain socket) do the I/O. Every other
call keeps using httpx.

Endings, as with httpx: the terminating chunk (the daemon ended the stream: overflow, stopping)
is a clean end; a connection lost without it raises :class:`ApiError` 711 (event stream lost).
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import orjson

from ..codes import ErrorCode
from ..events.types import Event, decode
from .api import ApiError, error_of, query_string
from .http11 import next_chunk, take_head

MAX_ERROR_BODY = 1024 * 1024
# Reads go into one buffer kept for the stream's life: a plain asyncio Protocol receives with
# recv(256 KiB), and allocating (mmap) and trimming that much for each few-hundred-byte event
# cost ~25 µs a read where recv_into costs ~3 (measured side by side).
READ_SIZE = 64 * 1024
# The asyncio reader stops reading past this many undelivered events: the daemon then sees
# its socket back up and cuts the stream off (overflow) instead of this process growing.
PAUSE_AT = 4096


def request_bytes(query: dict[str, Any], headers: dict[str, str]) -> bytes:
    """The stream's request: HTTP/1.1 (chunked frames tell a clean end from a lost one)."""
    lines = [f"GET /v1/events{query_string(query)} HTTP/1.1", "Host: openras"]
    lines += ["Accept: text/event-stream", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def stream_lost(detail: str) -> ApiError:
    return ApiError(ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"event stream lost: {detail}")


class StreamParser:
    """Bytes of the daemon's answer in, typed events out (sans-IO).

    ``feed`` returns the events the bytes completed (keep-alives and kinds this version does
    not know give none) and raises :class:`ApiError` for an error answer once its body is
    complete; ``ended`` is set by the terminating chunk. ``eof`` says what the end of the
    connection means.
    """

    def __init__(self) -> None:
        self._buf = b""
        self._head = True
        self.status = 0
        self._chunked = False
        self._length: int | None = None  # an error answer's Content-Length
        self._sse = b""  # SSE text of frames split across chunks
        self.ended = False

    def feed(self, data: bytes) -> list[Event]:
        if self.ended:
            return []
        buf = self._buf + data if self._buf else data
        if self._head:
            try:
                taken = take_head(buf)
            except ValueError as exc:
                raise stream_lost(str(exc)) from None
            if taken is None:
                self._buf = buf
                return []
            head, buf = taken
            self.status, self._chunked, self._length = head.status, head.chunked, head.length
            self._head = False
        if self.status >= 300:
            self._buf = buf
            if self._length is not None and len(buf) >= self._length:
                raise self._error(buf[: self._length])
            if len(buf) > MAX_ERROR_BODY:
                raise self._error(buf[:MAX_ERROR_BODY])
            return []
        if not self._chunked:
            self._buf = b""
            return self._frames(buf)
        return self._chunks(buf)

    def eof(self) -> None:
        """The connection ended: fine after the terminating chunk, else the stream was lost
        (or an error answer ended, raised as its code)."""
        if self.ended:
            return
        if not self._head and self.status >= 300:
            raise self._error(self._buf)
        if not self._head and not self._chunked:
            self.ended = True  # an HTTP/1.0 answer ends with its connection
            return
        raise stream_lost("connection closed mid-stream")

    def _error(self, body: bytes) -> ApiError:
        self.ended = True
        return error_of(self.status, body)

    def _chunks(self, buf: bytes) -> list[Event]:
        events: list[Event] = []
        pos, size = 0, len(buf)
        while pos < size:
            try:
                found = next_chunk(buf, pos)
            except ValueError as exc:
                raise stream_lost(str(exc)) from None
            if found is None:
                break  # the chunk is not all here yet
            chunk, pos = found
            if chunk is None:  # the terminating chunk: the daemon ended the stream
                self.ended = True
                self._buf = b""
                return events
            if self._sse or not chunk.endswith(b"\n\n"):
                chunk = self._complete(chunk)
            if chunk:
                events += self._frames(chunk)
        self._buf = buf[pos:]
        return events

    def _complete(self, text: bytes) -> bytes:
        """The whole frames of what came so far; the rest waits for the next bytes."""
        text = self._sse + text
        cut = text.rfind(b"\n\n")
        if cut < 0:
            if len(text) > MAX_ERROR_BODY:
                raise stream_lost("SSE frame too large")
            self._sse = text
            return b""
        self._sse = text[cut + 2 :]
        return text[: cut + 2]

    def _frames(self, text: bytes) -> list[Event]:
        """Whole SSE frames (each ending in a blank line) → their events."""
        if not self._chunked:
            text = self._complete(text)
        events: list[Event] = []
        for frame in text.split(b"\n\n"):
            if not frame or frame[0] == 58:  # ":": a comment (keep-alive)
                continue
            at = frame.find(b"data:")
            if at < 0:
                continue
            if (at == 0 or frame[at - 1] == 10) and frame.find(b"\n", at) < 0:
                raw = frame[at + 5 :]  # the daemon's frames: one data line, the last
                if raw[:1] == b" ":
                    raw = raw[1:]
            else:
                data = [line[5:] for line in frame.split(b"\n") if line.startswith(b"data:")]
                if not data:
                    continue
                raw = b"\n".join(line[1:] if line[:1] == b" " else line for line in data)
            try:
                event = decode(orjson.loads(raw))
            except (ValueError, TypeError, AttributeError) as exc:  # not one of our events
                # (a UnicodeDecodeError is a ValueError)
                raise stream_lost(f"malformed event: {exc}") from None
            if event is not None:
                events.append(event)
        return events


class AsyncEventStream(asyncio.BufferedProtocol):
    """The stream on an asyncio loop: events are handed to ``deliver`` as each read completes
    them (no task or queue per event); :meth:`batches` reads them as an async iterator."""

    def __init__(self, deliver: Callable[[list[Event]], None] | None = None) -> None:
        self._parser = StreamParser()
        self._deliver = deliver
        self._pending: deque[list[Event]] = deque()
        self._count = 0
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._transport: asyncio.Transport | None = None
        self._buffer = memoryview(bytearray(READ_SIZE))
        self.error: ApiError | None = None
        self.finished = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(
        cls,
        path: str,
        query: dict[str, Any],
        headers: dict[str, str],
        deliver: Callable[[list[Event]], None] | None = None,
    ) -> AsyncEventStream:
        loop = asyncio.get_running_loop()
        try:
            _, stream = await loop.create_unix_connection(lambda: cls(deliver), path)
        except OSError as exc:
            raise ApiError(
                ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
            ) from None
        assert stream._transport is not None
        stream._transport.write(request_bytes(query, headers))
        return stream

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        if self.finished:
            return
        try:
            events = self._parser.feed(data)
        except ApiError as exc:
            self._finish(exc)
            return
        if events:
            if self._deliver is not None:
                self._deliver(events)
            else:
                self._pending.append(events)
                self._count += len(events)
                if self._count >= PAUSE_AT and not self._paused and self._transport:
                    self._paused = True
                    self._transport.pause_reading()
                self._wake()
        if self._parser.ended:
            self._finish(None)

    def eof_received(self) -> bool:
        self._end_of_connection()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_of_connection(exc)

    # -- ending ----------------------------------------------------------------------------
    def _end_of_connection(self, exc: Exception | None = None) -> None:
        if self.finished:
            return
        try:
            self._parser.eof()
        except ApiError as error:
            if exc is not None and error.code == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE:
                error = stream_lost(str(exc) or type(exc).__name__)
            self._finish(error)
            return
        self._finish(None)

    def _finish(self, error: ApiError | None) -> None:
        if self.finished:
            return
        self.finished = True
        self.error = error
        if self._transport is not None:
            self._transport.close()
        if not self.done.done():
            self.done.set_result(None)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        self._finish(None)

    async def batches(self) -> AsyncIterator[list[Event]]:
        """Each read's events, in order; ends at a clean end, raises ApiError otherwise."""
        try:
            while True:
                while self._pending:
                    batch = self._pending.popleft()
                    self._count -= len(batch)
                    if self._paused and self._count < PAUSE_AT // 2 and self._transport:
                        self._paused = False
                        self._transport.resume_reading()
                    yield batch
                if self.finished:
                    if self.error is not None:
                        raise self.error
                    return
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None
        finally:
            self.close()


def blocking_events(
    path: str, query: dict[str, Any], headers: dict[str, str], timeout: float = 10.0
) -> Iterator[Event]:
    """The stream read with a blocking socket (for synchronous callers without a loop)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            sock.sendall(request_bytes(query, headers))
        except OSError as exc:
            raise ApiError(
                ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
            ) from None
        sock.settimeout(None)  # events come when they come
        parser = StreamParser()
        buffer = memoryview(bytearray(READ_SIZE))
        while not parser.ended:
            try:
                size = sock.recv_into(buffer)
            except OSError as exc:
                raise stream_lost(str(exc)) from None
            if not size:
                parser.eof()
                return
            yield from parser.feed(bytes(buffer[:size]))
    finally:
        sock.close()
