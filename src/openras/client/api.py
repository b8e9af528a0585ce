"""HTTP/1.1 + JSON over the daemon's Unix socket, synchronous and asynchronous, and the SSE
event stream."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from json import dumps as _dumps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from orjson import loads as _loads  # answers: a thousand records parse in a third of the time

from ..codes import ErrorCode, RasError, error_name, error_string
from ..events.types import Event
from ..i18n import accept_language
from ..paths import Paths, resolve
from .sync_http import ConnectFailed, RequestFailed, SyncPool
from .transport import ensure_daemon

if TYPE_CHECKING:
    from .event_stream import AsyncEventStream

BASE = "http://openras"
# A call that finds no daemon (it crashed, or is being restarted) connects again, starting a new
# one when allowed, instead of answering 711 at once; these bound how often and how long.
RECONNECTS = 4
RECONNECT_PAUSE = 0.1
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _may_retry(method: str, connect_failed: bool, attempt: int) -> bool:
    """A request that never reached a daemon is sent again; one that may have been handled is
    sent again only if asking twice is harmless."""
    if attempt >= RECONNECTS:
        return False
    return connect_failed or method.upper() in _SAFE_METHODS


class ApiError(RasError):
    """An error answered by the daemon: ``code`` is the RAS / Win32 code."""

    def __init__(self, code: int, message: str = "", detail: str = "", status: int = 0) -> None:
        super().__init__(code, detail or message)
        self.name = error_name(code)
        self.message = message or error_string(code)
        self.status = status


def _raise_for(response: httpx.Response) -> Any:
    if response.status_code < 300:
        return _loads(response.content) if response.content else None
    raise error_of(response.status_code, response.content)


def error_of(status: int, content: bytes) -> ApiError:
    """The daemon's error answer (``{"error": code, "message", "detail"}``) as ApiError."""
    try:
        body = json.loads(content)
        return ApiError(int(body["error"]), body.get("message", ""), body.get("detail", ""), status)
    except (ValueError, KeyError, TypeError):
        text = content[:200].decode("utf-8", "replace")
        return ApiError(ErrorCode.ERROR_UNKNOWN, f"HTTP {status}", text, status)


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None}


def query_string(params: dict[str, Any] | None) -> str:
    """``?name=value&...`` of the parameters that are not None (a list repeats its name;
    booleans as ``true`` / ``false``, as httpx writes them), or ``""``."""
    pairs = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
    return "?" + urlencode(pairs, doseq=True) if pairs else ""


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return [_query_value(v) for v in value]
    return value


def entry_path(name: str, *rest: str) -> str:
    """/v1/entries/NAME[/...] with NAME as one encoded segment (names may hold '?', '#', '/')."""
    from urllib.parse import quote

    return "/".join(["/v1/entries", quote(name, safe=""), *rest])


def _headers() -> dict[str, str]:
    """``Accept-Language`` from the user's locale: the daemon's error ``message`` follows it."""
    lang = accept_language()
    return {"Accept-Language": lang} if lang else {}


def _autostart_default() -> bool:
    # OPENRAS_NO_AUTOSTART=1: never start a daemon (watchers, tests that manage the daemon).
    return os.environ.get("OPENRAS_NO_AUTOSTART", "") not in ("1", "true", "yes")


class _Endpoint:
    """Where the daemon is, and whether a client may start it (``autostart``)."""

    def __init__(
        self,
        home: str | None = None,
        autostart: bool | None = None,
        timeout: float = 60.0,
        paths: Paths | None = None,
    ) -> None:
        self.paths: Paths = paths or resolve(home)
        self.autostart = _autostart_default() if autostart is None else autostart
        self.timeout = timeout


class Client(_Endpoint):
    """Synchronous client. Starts the daemon on demand (``autostart``).

    Calls go through :mod:`.sync_http`; ``_client()`` is an httpx client on the same socket
    for raw HTTP (tests and tools that send what ``call`` would not)."""

    _http: httpx.Client | None = None
    _pool: SyncPool | None = None

    def _ready(self) -> SyncPool:
        if self._pool is None:
            try:
                ensure_daemon(self.paths, self.autostart)
            except RasError as exc:
                raise ApiError(exc.code, detail=exc.detail) from None
            self._pool = SyncPool(str(self.paths.socket), self.timeout, _headers())
        return self._pool

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._ready()
            transport = httpx.HTTPTransport(
                uds=str(self.paths.socket), retries=0, verify=False
            )  # no TLS on a Unix socket
            self._http = httpx.Client(
                transport=transport, base_url=BASE, timeout=self.timeout, headers=_headers()
            )
        return self._http

    def call(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        body = None if json is None else _dumps(json).encode()
        target = path + query_string(params)
        attempt = 0
        while True:
            try:
                status, content = self._ready().request(method, target, body)
            except (ConnectFailed, RequestFailed) as exc:
                self.close()
                if not _may_retry(method, isinstance(exc, ConnectFailed), attempt):
                    raise ApiError(
                        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
                    ) from None
            else:
                if status < 300:
                    return _loads(content) if content else None
                raise error_of(status, content)
            time.sleep(RECONNECT_PAUSE * 2**attempt)
            attempt += 1

    def events(self, since: int | None = None, **filters: Any) -> Iterator[Event]:
        """The live event stream (blocking iterator); filters: handle, kinds, notify."""
        from .event_stream import blocking_events

        self._ready()  # the daemon is there (started if allowed)
        query = {"since": since, **filters}
        yield from blocking_events(str(self.paths.socket), query, _headers())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Endpoint):
    """Asynchronous client for asyncio programs."""

    _http: httpx.AsyncClient | None = None

    async def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            import asyncio

            try:
                await asyncio.to_thread(ensure_daemon, self.paths, self.autostart)
            except RasError as exc:
                raise ApiError(exc.code, detail=exc.detail) from None
            transport = httpx.AsyncHTTPTransport(
                uds=str(self.paths.socket), retries=0, verify=False
            )
            self._http = httpx.AsyncClient(
                transport=transport, base_url=BASE, timeout=self.timeout, headers=_headers()
            )
        return self._http

    async def call(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        import asyncio

        attempt = 0
        while True:
            try:
                response = await (await self._client()).request(
                    method, path, json=json, params=_query(params)
                )
                return _raise_for(response)
            except httpx.TransportError as exc:
                await self.aclose()
                if not _may_retry(method, isinstance(exc, httpx.ConnectError), attempt):
                    raise ApiError(
                        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
                    ) from None
            await asyncio.sleep(RECONNECT_PAUSE * 2**attempt)
            attempt += 1

    async def events(self, since: int | None = None, **filters: Any) -> AsyncIterator[Event]:
        from .event_stream import AsyncEventStream

        await self._client()  # the daemon is there (started if allowed)
        query = {"since": since, **filters}
        stream = await AsyncEventStream.open(str(self.paths.socket), query, _headers())
        async for batch in stream.batches():
            for event in batch:
                yield event

    async def open_events(
        self, since: int | None, deliver: Callable[[list[Event]], None], **filters: Any
    ) -> AsyncEventStream:
        """The event stream handing each read's events to ``deliver`` on this loop (the
        process's event hub); ``done`` of the result completes when the stream ends."""
        from .event_stream import AsyncEventStream

        await self._client()
        query = {"since": since, **filters}
        return await AsyncEventStream.open(str(self.paths.socket), query, _headers(), deliver)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
