"""The Pythonic RAS API (sync and asyncio) over the daemon API.

A dial's notifications are a view of the event stream: the events of its handle after the
sequence number the dial returned, until the final one (Connected, an error, Disconnected) or
the hang-up. ``win32ras`` and ``rasdial`` are built on this module.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ..codes import RASCS, ErrorCode
from .api import ApiError, AsyncClient, Client

FINAL = (RASCS.Connected, RASCS.Disconnected)


@dataclass(frozen=True)
class Notification:
    handle: int
    state: RASCS
    error: int
    extended_error: int
    detail: str
    seq: int

    @property
    def final(self) -> bool:
        return self.error != 0 or self.state in FINAL


def dial_body(entry: str, phonebook: str | None = None, phone_number: str = "", user: str = "",
              password: str = "", domain: str = "", callback_number: str = "", device: str = "") -> dict[str, Any]:
    """The dial request. A phonebook file is read here, with the caller's own permissions."""
    body: dict[str, Any] = {"entry": entry, "phone_number": phone_number, "user": user, "password": password,
                            "domain": domain, "callback_number": callback_number, "device": device}
    if phonebook:
        path = os.path.abspath(phonebook)
        from ..phonebook import _decode

        try:
            with open(path, "rb") as f:
                text = _decode(f.read(16 * 1024 * 1024))
        except OSError as exc:
            raise ApiError(ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, detail=f"{path}: {exc.strerror}") from None
        body["phonebook"] = path
        body["phonebook_text"] = text
    return body


def notification_of(event: dict[str, Any], handle: int) -> Notification | None:
    """The per-dial notification an event stands for, or None (and 'stop' for a hang-up)."""
    kind = event.get("kind")
    if kind in ("state", "reference"):
        return Notification(handle, RASCS(event["state"]), int(event.get("error", 0)),
                            int(event.get("extended_error", 0)), event.get("detail", ""), event["seq"])
    return None


def dial_view(event: dict[str, Any], handle: int) -> tuple[Notification | None, bool]:
    """One event of the stream as the dial sees it: (its notification or None, whether it is over)."""
    if event.get("kind") in ("hangup", "released"):
        return None, True  # a hang-up stops the dial's notifications
    note = notification_of(event, handle)
    return note, note is not None and note.final


class Ras:
    """Synchronous RAS client."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def dial(self, entry: str, **kwargs: Any) -> dict[str, Any]:
        """Start a dial; returns ``{"handle", "seq", "shared", ...}`` at once."""
        return self.client.call("POST", "/v1/connections", json=dial_body(entry, **kwargs))

    def notifications(self, handle: int, since: int) -> Iterator[Notification]:
        """The dial's notifications in order; ends after the final one or at a hang-up.

        An overflow or a dropped stream is not the end of the dial: it resumes from the last
        sequence number seen, so no notification is lost or repeated."""
        resumes = 0
        while True:
            try:
                for event in self.client.events(since=since, handle=handle):
                    if event["kind"] == "overflow":
                        break
                    since = event["seq"]
                    note, over = dial_view(event, handle)
                    if note is not None:
                        yield note
                    if over:
                        return
            except ApiError:
                if resumes >= 3:
                    raise
            resumes += 1
            if resumes > 10:
                raise ApiError(ErrorCode.ERROR_DISCONNECTION, detail="the event stream keeps ending")
            self.client.close()
            if not self._exists(handle):
                return

    def _exists(self, handle: int) -> bool:
        try:
            self.status(handle)
            return True
        except ApiError as exc:
            if exc.code == ErrorCode.ERROR_INVALID_HANDLE:
                return False
            raise

    def hangup(self, handle: int) -> dict[str, Any]:
        return self.client.call("DELETE", f"/v1/connections/{handle}")

    def status(self, handle: int) -> dict[str, Any]:
        return self.client.call("GET", f"/v1/connections/{handle}")

    def connections(self) -> list[dict[str, Any]]:
        return self.client.call("GET", "/v1/connections")

    def projection(self, handle: int, kind: int) -> dict[str, Any]:
        return self.client.call("GET", f"/v1/connections/{handle}/projection/{kind}")

    def watch(self, handle: int | None = None, flags: int = 0x3, since: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """RasConnectionNotification as an iterator of ``(RASCN_* flag, event)``.

        RASCN_Connection (1) is reported only when watching all handles, as on Windows.
        """
        for event in self.client.events(since=since, handle=handle, notify="connection,disconnection"):
            flag = 0x1 if event.get("notify") == "connection" else 0x2
            if flag == 0x1 and handle is not None:
                continue
            if flags & flag:
                yield flag, event

    def wait_gone(self, handle: int, timeout: float = 30.0, interval: float = 0.02) -> bool:
        """Poll status until ERROR_INVALID_HANDLE (Microsoft's recommended hang-up loop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.status(handle)
            except ApiError as exc:
                if exc.code == ErrorCode.ERROR_INVALID_HANDLE:
                    return True
                raise
            time.sleep(interval)
        return False


class AsyncConnection:
    def __init__(self, ras: AsyncRas, handle: int, notes: list[Notification]) -> None:
        self.ras = ras
        self.handle = handle
        self.notifications = notes

    async def status(self) -> dict[str, Any]:
        return await self.ras.status(self.handle)

    async def hangup(self) -> None:
        await self.ras.hangup(self.handle)


class AsyncRas:
    """asyncio RAS client: ``async with ras.dial("entry") as conn: ...``."""

    def __init__(self, client: AsyncClient | None = None) -> None:
        self.client = client or AsyncClient()

    async def start_dial(self, entry: str, **kwargs: Any) -> dict[str, Any]:
        return await self.client.call("POST", "/v1/connections", json=dial_body(entry, **kwargs))

    async def notifications(self, handle: int, since: int) -> AsyncIterator[Notification]:
        """As :meth:`Ras.notifications`, resuming after an overflow or a dropped stream."""
        resumes = 0
        while True:
            try:
                async for event in self.client.events(since=since, handle=handle):
                    if event["kind"] == "overflow":
                        break
                    since = event["seq"]
                    note, over = dial_view(event, handle)
                    if note is not None:
                        yield note
                    if over:
                        return
            except ApiError:
                if resumes >= 3:
                    raise
            resumes += 1
            if resumes > 10:
                raise ApiError(ErrorCode.ERROR_DISCONNECTION, detail="the event stream keeps ending")
            await self.client.aclose()
            try:
                await self.status(handle)
            except ApiError as exc:
                if exc.code == ErrorCode.ERROR_INVALID_HANDLE:
                    return
                raise

    @asynccontextmanager
    async def dial(self, entry: str, **kwargs: Any) -> AsyncIterator[AsyncConnection]:
        """Dial and wait for the result; raises ApiError on failure; hangs up on exit."""
        started = await self.start_dial(entry, **kwargs)
        handle = started["handle"]
        notes = [n async for n in self.notifications(handle, started["seq"])]
        conn = AsyncConnection(self, handle, notes)
        try:
            last = notes[-1] if notes else None
            if last is None or last.error or last.state != RASCS.Connected:
                code = last.error if last and last.error else ErrorCode.ERROR_DISCONNECTION
                raise ApiError(code, detail=last.detail if last else "dial ended without a result")
            yield conn
        finally:
            try:
                await self.hangup(handle)
            except ApiError as exc:
                if exc.code != ErrorCode.ERROR_INVALID_HANDLE:
                    raise

    async def hangup(self, handle: int) -> dict[str, Any]:
        return await self.client.call("DELETE", f"/v1/connections/{handle}")

    async def status(self, handle: int) -> dict[str, Any]:
        return await self.client.call("GET", f"/v1/connections/{handle}")

    async def connections(self) -> list[dict[str, Any]]:
        return await self.client.call("GET", "/v1/connections")

    async def events(self, since: int | None = None, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        async for event in self.client.events(since=since, **filters):
            yield event
