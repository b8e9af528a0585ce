"""The byte port under a PPP link: an ``asyncio.Protocol`` for any stream transport (TCP
socket, tty, pty). It buffers bytes until the link attaches, so a modem's AT dialog can read
them first; the serial, modem and tcp devices open the transport, this is its protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ...timeouts import within

WRITE_HIGH_WATER = 256 * 1024  # bytes queued towards the line before the TUN reader pauses


class PortProtocol(asyncio.Protocol):
    """The transport's protocol: buffers bytes until the PPP link attaches (the AT dialog reads
    them)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.changed = asyncio.Event()
        self.closed = False
        self._sink: Any = None
        self._on_lost: Any = None
        self._drained: asyncio.Future[None] | None = None
        self.on_pause: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        with contextlib.suppress(AttributeError, NotImplementedError):
            transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._sink is not None:
            self._sink(data)
        else:
            self.buffer += data
            self.changed.set()

    def eof_received(self) -> bool:
        return False  # close our side too: PPP has no half-close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.changed.set()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self._on_lost is not None:
            self._on_lost()

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()
        if self.on_pause is not None:
            self.on_pause(self._drained)

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def attach(self, sink: Any, on_lost: Any) -> None:
        """From now on every byte goes to ``sink``; ``on_lost()`` when the transport closes."""
        pending = bytes(self.buffer)
        self.buffer.clear()
        self._sink, self._on_lost = sink, on_lost
        if pending:
            sink(pending)
        if self.closed:
            on_lost()

    def detach(self) -> None:
        """Bytes go to the buffer again (a modem's answer to the hang-up)."""
        self._sink = self._on_lost = None
        self.on_pause = None

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def read_some(self, wait: float) -> bytes:
        """The buffered bytes (waiting up to ``wait`` seconds for some); b'' on time-out or
        close."""
        if not self.buffer and not self.closed:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await within(self.changed.wait(), wait)
        data = bytes(self.buffer)
        self.buffer.clear()
        return data
