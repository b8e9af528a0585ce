"""Reads of one open SMB file at explicit offsets, with several requests in flight.

FUSE asks for 128 KiB at a time and waits for each answer; one SMB request per FUSE read
would leave the link idle for a round trip (plus smbprotocol's thread hand-over) every time.
Reads are served from a window of 1 MiB chunks: the first read at an offset fetches one chunk;
once a read continues where the previous one ended, the file is being read sequentially and
up to ``WINDOW`` further chunks are requested ahead (smbprotocol's out-of-band send), so the
server streams while FUSE copies. A read anywhere else drops the window (its answers are still
collected, so the connection's credits and message table stay right) and starts over.

Data is at most one window old: the same staleness a kernel's page cache (and smbclient's own
read-ahead) allows. Writes and truncations through the handle drop the window.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from smbprotocol import exceptions as smbexc

log = logging.getLogger(__name__)

CHUNK = 1 << 20
WINDOW = 4
CREDITS_WANTED = 256  # 16 credits per 1 MiB read: enough for the window with room to spare


@dataclass
class _InFlight:
    offset: int
    length: int
    request: Any


class SmbReader:
    """The read side of one open file (smbprotocol ``Open``); not thread-safe (FUSE is not)."""

    def __init__(self, fd: Any) -> None:
        self.fd = fd  # smbprotocol.open.Open
        self._buf = b""
        self._buf_at = 0
        self._ahead: deque[_InFlight] = deque()
        self._eof: int | None = None  # where a read came back short: the end of file
        self._next = -1  # where the previous read ended: a read there is sequential

    def read(self, offset: int, size: int) -> bytes:
        sequential = offset == self._next
        start = offset - self._buf_at
        if not sequential:
            if not (0 <= start and offset + size <= self._buf_at + len(self._buf)):
                self.drop()
                start = 0
                self._fetch(offset, max(size, CHUNK))
            data = self._buf[start : start + size]
            self._next = offset + len(data)
            return data
        out: list[bytes] = []
        pos, want = offset, size
        while want > 0:
            start = pos - self._buf_at
            if 0 <= start < len(self._buf):
                piece = self._buf[start : start + want]
            elif self._eof is not None and pos >= self._eof:
                break
            else:
                self._top_up(pos)
                if self._ahead and self._ahead[0].offset == pos:
                    piece = self._take()
                else:  # a gap (the file changed size under us): start over here
                    self.drop()
                    piece = self._fetch(pos, max(want, CHUNK))
                piece = piece[:want]
            if not piece:
                break
            out.append(piece)
            pos += len(piece)
            want -= len(piece)
        self._top_up(pos)
        self._next = pos
        return out[0] if len(out) == 1 else b"".join(out)

    def drop(self) -> None:
        """Forget buffered data and collect the answers of reads in flight."""
        self._buf, self._buf_at, self._eof, self._next = b"", 0, None, -1
        self._drop_ahead()

    # --- internals ------------------------------------------------------------------------

    def _drop_ahead(self) -> None:
        while self._ahead:
            chunk = self._ahead.popleft()
            try:
                self._receive(chunk.request)
            except Exception as exc:  # the file may be gone: nobody wants these bytes
                log.debug("read ahead at %d dropped: %s", chunk.offset, exc)

    def _fetch(self, offset: int, length: int) -> bytes:
        """One read, waited for; it becomes the buffer."""
        length = min(length, int(self.fd.connection.max_read_size))
        self._buf, self._buf_at = self._receive(self._send(offset, length)), offset
        if len(self._buf) < length:
            self._eof = offset + len(self._buf)
        return self._buf

    def _take(self) -> bytes:
        chunk = self._ahead.popleft()
        data = self._receive(chunk.request)
        self._buf, self._buf_at = data, chunk.offset
        if len(data) < chunk.length:
            self._eof = chunk.offset + len(data)
            self._drop_ahead()
        return data

    def _top_up(self, pos: int) -> None:
        """Keep WINDOW chunks requested past the buffer (past ``pos`` if outside it)."""
        if self._ahead:
            nxt = self._ahead[-1].offset + self._ahead[-1].length
        elif self._buf_at <= pos <= self._buf_at + len(self._buf):
            nxt = self._buf_at + len(self._buf)
        else:
            nxt = pos
        while len(self._ahead) < WINDOW and (self._eof is None or nxt < self._eof):
            self._ahead.append(_InFlight(nxt, CHUNK, self._send(nxt, CHUNK)))
            nxt += CHUNK

    def _send(self, offset: int, length: int) -> Any:
        message, _ = self.fd.read(offset, length, send=False)
        conn = self.fd.connection
        window = conn.sequence_window
        # Ask for credits until a whole window fits; from then on only replace what is spent.
        wanted = CREDITS_WANTED if window["high"] - window["low"] < CREDITS_WANTED else None
        tree = self.fd.tree_connect
        return conn.send(
            message, tree.session.session_id, tree.tree_connect_id, credit_request=wanted
        )

    def _receive(self, request: Any) -> bytes:
        try:
            return bytes(self.fd._read_response(request))
        except smbexc.EndOfFile:
            return b""
