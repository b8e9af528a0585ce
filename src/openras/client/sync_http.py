"""The synchronous client's HTTP/1.1 over the daemon's Unix socket: requests written whole,
answers read with a small sans-IO parser (:class:`AnswerParser`).

CPU here is latency: a win32ras program's calls run on the threads its callbacks and the
process's event stream compete with for the interpreter. httpx cost a call about 710 µs of
CPU, ``http.client`` about 160 µs — most of it parsing the answer's headers through the
``email`` package (≈ 30 µs in memory, far more in a busy process); this parser reads the
status, ``Content-Length``, ``Transfer-Encoding`` and ``Connection`` in about 2 µs. Keep-alive
connections are pooled for threads sharing one client (win32ras does); an idle one the daemon
closed (its idle time-out) is noticed before reuse, as httpx does.
"""

from __future__ import annotations

import select
import socket
import threading
from urllib.parse import urlencode

from .http11 import next_chunk, take_head

POOL_SIZE = 8  # idle connections kept; more threads than this open and close their own
READ_SIZE = 256 * 1024


class ConnectFailed(OSError):
    """The request never reached a daemon (safe to send again, whatever the method)."""


class RequestFailed(OSError):
    """The connection failed after the request may have been sent."""


class AnswerParser:
    """One HTTP/1.1 answer, from bytes (sans-IO): ``feed`` each read until it returns True,
    or ``eof`` when the connection ends; then ``status``, ``body`` and ``close`` (the
    connection may not be used again). A malformed answer raises ValueError."""

    def __init__(self, head_only: bool = False) -> None:
        self._buf = b""
        self._head_only = head_only  # a HEAD request's answer has no body
        self._in_head = True
        self._length: int | None = None
        self._chunked = False
        self._parts: list[bytes] = []
        self._have = 0  # octets of the body in _parts
        self.status = 0
        self.close = False
        self.body = b""

    def feed(self, data: bytes) -> bool:
        buf = self._buf + data if self._buf else data
        if self._in_head:
            taken = take_head(buf)
            if taken is None:
                self._buf = buf
                return False
            head, buf = taken
            self.status, self.close = head.status, head.close
            self._length, self._chunked = head.length, head.chunked
            self._in_head = False
            if self._head_only or self.status in (204, 304) or 100 <= self.status < 200:
                self._length = 0
        if self._chunked:
            return self._chunks(buf)
        # The body's reads are kept as they came and joined once (a large answer would
        # otherwise be copied again at every read).
        self._buf = b""
        self._parts.append(buf)
        self._have += len(buf)
        if self._length is None or self._have < self._length:
            return False  # (no length: the body runs to the end of the connection)
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self.body = body[: self._length] if len(body) > self._length else body
        return True

    def eof(self) -> bool:
        """The connection ended: True when that completed the answer."""
        if self._in_head or self._chunked or self._length is not None:
            return False
        self.body = b"".join(self._parts)
        self.close = True
        return True

    def _chunks(self, buf: bytes) -> bool:
        pos = 0
        while (found := next_chunk(buf, pos)) is not None:
            chunk, after = found
            if chunk is None:  # the last chunk; no trailers from our daemon
                if buf.find(b"\r\n", after) < 0:
                    break  # its blank line is still to come: read it again then
                self.body, self._buf = b"".join(self._parts), b""
                return True
            self._parts.append(chunk)
            pos = after
        self._buf = buf[pos:]
        return False


class _UnixConnection:
    """One keep-alive connection to the daemon's socket."""

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self.sock: socket.socket | None = None

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def exchange(self, request: bytes, head_only: bool) -> AnswerParser:
        sock = self.sock
        assert sock is not None
        sock.sendall(request)
        answer = AnswerParser(head_only)
        while True:
            data = sock.recv(READ_SIZE)
            if not data:
                if answer.eof():
                    return answer
                raise ConnectionResetError("the daemon closed the connection mid-answer")
            if answer.feed(data):
                return answer

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _dropped(conn: _UnixConnection) -> bool:
    """An idle connection the daemon closed reads as ready (EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class SyncPool:
    def __init__(self, path: str, timeout: float, headers: dict[str, str]) -> None:
        self._path = path
        self._timeout = timeout
        # Header values come from the locale: nothing that could end a line gets through.
        self._head = "".join(
            f"{name}: {value}\r\n"
            for name, value in headers.items()
            if not any(c in name + value for c in "\r\n")
        )
        self._idle: list[_UnixConnection] = []
        self._lock = threading.Lock()

    def _take(self) -> _UnixConnection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        conn = _UnixConnection(self._path, self._timeout)
        try:
            conn.connect()
        except OSError as exc:
            raise ConnectFailed(str(exc)) from None
        return conn

    def _give(self, conn: _UnixConnection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        params: dict[str, object] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one request."""
        target = path + ("?" + urlencode(params, doseq=True) if params else "")
        if any(c in target for c in "\r\n "):
            raise ValueError(f"not a request target: {target!r}")
        head = [f"{method} {target} HTTP/1.1\r\nHost: openras\r\n", self._head]
        if body is not None:
            head.append(f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        elif method in ("POST", "PUT", "PATCH"):
            head.append("Content-Length: 0\r\n")
        request = "".join(head).encode() + b"\r\n" + (body or b"")
        conn = self._take()
        try:
            answer = conn.exchange(request, method == "HEAD")
        except (OSError, ValueError) as exc:
            conn.close()
            raise RequestFailed(str(exc) or type(exc).__name__) from None
        if answer.close:
            conn.close()
        else:
            self._give(conn)
        return answer.status, answer.body

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
