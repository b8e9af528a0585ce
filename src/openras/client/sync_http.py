"""The synchronous client's HTTP/1.1 over the daemon's Unix socket, on the standard library's
``http.client``.

httpx cost a synchronous call about four times the CPU (≈ 710 µs against ≈ 160 µs, measured
side by side on the same daemon): a win32ras program's calls run on the threads its callbacks
and the process's event stream compete with for the interpreter, so that CPU was latency.
Keep-alive connections are pooled for threads sharing one client (win32ras does); an idle one
the daemon closed (its idle time-out) is noticed before reuse, as httpx does.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from urllib.parse import urlencode

POOL_SIZE = 8  # idle connections kept; more threads than this open and close their own


class ConnectFailed(OSError):
    """The request never reached a daemon (safe to send again, whatever the method)."""


class RequestFailed(OSError):
    """The connection failed after the request may have been sent."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("openras", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


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
        self._headers = headers
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
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = self._take()
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise RequestFailed(str(exc) or type(exc).__name__) from None
        if response.will_close:
            conn.close()
        else:
            self._give(conn)
        return response.status, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
