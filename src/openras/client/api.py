"""HTTP/1.1 + JSON over the daemon's Unix socket, synchronous and asynchronous, and the SSE
event stream."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ..codes import ErrorCode, RasError, error_name, error_string
from ..events.types import Event, decode
from ..i18n import accept_language
from ..paths import Paths, resolve
from .transport import ensure_daemon

BASE = "http://openras"
# A call that finds no daemon (it crashed, or is being restarted) connects again, starting a new
# one when allowed, instead of answering 711 at once; these bound how often and how long.
RECONNECTS = 4
RECONNECT_PAUSE = 0.1
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _may_retry(method: str, exc: httpx.TransportError, attempt: int) -> bool:
    """A request that never reached a daemon is sent again; one that may have been handled is
    sent again only if asking twice is harmless."""
    if attempt >= RECONNECTS:
        return False
    return isinstance(exc, httpx.ConnectError) or method.upper() in _SAFE_METHODS


class ApiError(RasError):
    """An error answered by the daemon: ``code`` is the RAS / Win32 code."""

    def __init__(self, code: int, message: str = "", detail: str = "", status: int = 0) -> None:
        super().__init__(code, detail or message)
        self.name = error_name(code)
        self.message = message or error_string(code)
        self.status = status


def _raise_for(response: httpx.Response) -> Any:
    if response.status_code < 300:
        return response.json() if response.content else None
    try:
        body = response.json()
        raise ApiError(
            int(body["error"]),
            body.get("message", ""),
            body.get("detail", ""),
            response.status_code,
        )
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            ErrorCode.ERROR_UNKNOWN,
            f"HTTP {response.status_code}",
            response.text[:200],
            response.status_code,
        ) from None


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None}


def entry_path(name: str, *rest: str) -> str:
    """/v1/entries/NAME[/...] with NAME as one encoded segment (names may hold '?', '#', '/')."""
    from urllib.parse import quote

    return "/".join(["/v1/entries", quote(name, safe=""), *rest])


class SseParser:
    """Server-Sent Events, line by line: ``feed`` returns the typed event at each blank line
    (None for keep-alives and kinds this version does not know)."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        if line:
            if line.startswith("data:"):
                self._data.append(line[5:].lstrip(" "))
            return None  # comments (keep-alives), id: and event: lines carry nothing we need
        data, self._data = "\n".join(self._data), []
        return decode(json.loads(data)) if data else None


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
    """Synchronous client. Starts the daemon on demand (``autostart``)."""

    _http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            try:
                ensure_daemon(self.paths, self.autostart)
            except RasError as exc:
                raise ApiError(exc.code, detail=exc.detail) from None
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
        attempt = 0
        while True:
            try:
                response = self._client().request(method, path, json=json, params=_query(params))
                return _raise_for(response)
            except httpx.TransportError as exc:
                self.close()
                if not _may_retry(method, exc, attempt):
                    raise ApiError(
                        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
                    ) from None
            time.sleep(RECONNECT_PAUSE * 2**attempt)
            attempt += 1

    def events(self, since: int | None = None, **filters: Any) -> Iterator[Event]:
        """The live event stream (blocking iterator); filters: handle, kinds, notify."""
        params = _query({"since": since, **filters})
        try:
            with self._client().stream(
                "GET", "/v1/events", params=params, timeout=httpx.Timeout(None, connect=10)
            ) as r:
                if r.status_code >= 300:
                    r.read()
                    _raise_for(r)
                parser = SseParser()
                for line in r.iter_lines():
                    if (event := parser.feed(line)) is not None:
                        yield event
        except httpx.TransportError as exc:
            raise ApiError(
                ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"event stream lost: {exc}"
            ) from None

    def close(self) -> None:
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
                if not _may_retry(method, exc, attempt):
                    raise ApiError(
                        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"daemon unreachable: {exc}"
                    ) from None
            await asyncio.sleep(RECONNECT_PAUSE * 2**attempt)
            attempt += 1

    async def events(self, since: int | None = None, **filters: Any) -> AsyncIterator[Event]:
        params = _query({"since": since, **filters})
        client = await self._client()
        try:
            async with client.stream(
                "GET", "/v1/events", params=params, timeout=httpx.Timeout(None, connect=10)
            ) as r:
                if r.status_code >= 300:
                    await r.aread()
                    _raise_for(r)
                parser = SseParser()
                async for line in r.aiter_lines():
                    if (event := parser.feed(line)) is not None:
                        yield event
        except httpx.TransportError as exc:
            raise ApiError(
                ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"event stream lost: {exc}"
            ) from None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
