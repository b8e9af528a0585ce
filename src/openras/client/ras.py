"""The Pythonic RAS API (sync and asyncio) over the daemon API.

A dial's notifications are a view of the event stream: the events of its handle after the
sequence number the dial returned, until the final one (Connected, an error, Disconnected) or
the hang-up. :class:`~.follower.DialFollower` decides all of that; the two clients here only
move events to it. ``win32ras`` and ``rasdial`` are built on this module.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from ..codes import RASCS, ErrorCode, RasError
from ..events.types import ConnectionEvent, Event, Notify, Phase
from ..ras.records import (
    ConnectionRecord,
    DialStarted,
    HangupStarted,
    LinkStatistics,
    RasConn,
    decode_rasconn_table,
    decode_record,
    decode_statistics,
)
from .api import ApiError, AsyncClient, Client
from .follower import DialFollower, Notification
from .hub import EventHub, HubQueue, hub_for

__all__ = ["AsyncConnection", "AsyncRas", "Notification", "Ras", "dial_body"]

CONNECTIONS = "/v1/connections"


def dial_body(
    entry: str,
    phonebook: str | None = None,
    phone_number: str = "",
    user: str = "",
    password: str = "",
    domain: str = "",
    callback_number: str = "",
    device: str = "",
    tag: str = "",
) -> dict[str, Any]:
    """The dial request. A phonebook file is read here, with the caller's own permissions.
    ``tag``: the caller's random tag, echoed on the dial's first event."""
    body: dict[str, Any] = {
        "entry": entry,
        "phone_number": phone_number,
        "user": user,
        "password": password,
        "domain": domain,
        "callback_number": callback_number,
        "device": device,
    }
    if tag:
        body["tag"] = tag
    if phonebook:
        from ..phonebook import read_text

        path = os.path.abspath(phonebook)
        try:
            body["phonebook_text"] = read_text(path)
        except RasError as exc:
            raise ApiError(exc.code, detail=exc.detail) from None
        body["phonebook"] = path
    return body


def _list_params(
    full: bool, statistics: bool, phases: Iterable[Phase] | None, columns: bool = False
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if columns:
        params["form"] = "columns"
    if full:
        params["full"] = 1
    if statistics:
        params["statistics"] = 1
    if phases is not None:
        params["phase"] = ",".join(p.value for p in phases)
    return params


def _started(data: dict[str, Any]) -> DialStarted:
    return DialStarted(
        data["handle"], data["seq"], data["shared"], RASCS(data["state"]), data["refs"]
    )


def _hangup(data: dict[str, Any]) -> HangupStarted:
    return HangupStarted(data["handle"], data["refs"], data["seq"])


def _watch_flag(event: Event, handle: int | None, flags: int) -> int:
    """RasConnectionNotification: the RASCN_* flag an event signals (0: none).

    RASCN_Connection (1) is reported only when watching all handles, as on Windows."""
    if not isinstance(event, ConnectionEvent) or event.notify is None:
        return 0
    flag = 0x1 if event.notify is Notify.CONNECTION else 0x2
    if flag == 0x1 and handle is not None:
        return 0
    return flag & flags


def _exists(error: ApiError | None) -> bool:
    """A status call's outcome: the handle exists, is gone (6), or the call failed (raise)."""
    if error is None:
        return True
    if error.code == ErrorCode.ERROR_INVALID_HANDLE:
        return False
    raise error


class Ras:
    """Synchronous RAS client."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def dial(self, entry: str, **kwargs: Any) -> DialStarted:
        """Start a dial; returns the handle and where its notifications start, at once."""
        return _started(self.client.call("POST", CONNECTIONS, json=dial_body(entry, **kwargs)))

    def notifications(self, handle: int, since: int) -> Iterator[Notification]:
        """The dial's notifications in order; ends after the final one or at a hang-up.

        Read from the process's shared event stream (:mod:`.hub`)."""
        follower = DialFollower(handle, since)
        hub = self.hub()
        stream = HubQueue(hub, since)
        try:
            for event in stream:
                yield from follower.feed(event)
                if follower.done:
                    return
        except ApiError as lost:
            if hub.stopped:
                # Stopped on purpose and not back: the view ends here. Asking how the dial
                # ended would start a daemon again, which the hub itself never does.
                yield follower.give_up(lost)
                return
            try:
                exists = self._exists(handle)
            except ApiError as exc:
                # No daemon to say how the dial ended (none could be started): the view
                # still ends, with the reason as its final notification.
                yield follower.give_up(exc)
                return
            if exists:
                raise lost  # the daemon is back but the stream is not: say so
        finally:
            stream.close()

    def hub(self) -> EventHub:
        return hub_for(self.client.paths, self.client.autostart)

    def _exists(self, handle: int) -> bool:
        try:
            self.status(handle)
        except ApiError as exc:
            return _exists(exc)
        return True

    def hangup(self, handle: int) -> HangupStarted:
        return _hangup(self.client.call("DELETE", f"{CONNECTIONS}/{handle}"))

    def status(self, handle: int) -> ConnectionRecord:
        return decode_record(self.client.call("GET", f"{CONNECTIONS}/{handle}"))

    def connections(self, phases: Iterable[Phase] | None = None) -> list[ConnectionRecord]:
        """Full status records of every handle (of ``phases`` only, when given)."""
        return [decode_record(r) for r in self.listing(True, phases=phases)]

    def enumerate(self, phases: Iterable[Phase] | None = None) -> list[RasConn]:
        """RasEnumConnections: the RASCONN view."""
        return decode_rasconn_table(self.rasconn_table(phases))

    def rasconn_table(self, phases: Iterable[Phase] | None = None) -> dict[str, Any]:
        """The RASCONN view in the API's columns form (``columns``, ``rows``): the compact
        wire form, for callers that pick a few fields (see ``records.table_picker``)."""
        table: dict[str, Any] = self.client.call(
            "GET", CONNECTIONS, params=_list_params(False, False, phases, columns=True)
        )
        return table

    def listing(
        self, full: bool, statistics: bool = False, phases: Iterable[Phase] | None = None
    ) -> list[dict[str, Any]]:
        """The enumeration as the API sends it (the CLI prints it as it is)."""
        rows: list[dict[str, Any]] = self.client.call(
            "GET", CONNECTIONS, params=_list_params(full, statistics, phases)
        )
        return rows

    def statistics(self, handle: int) -> LinkStatistics:
        """RasGetConnectionStatistics."""
        return decode_statistics(self.client.call("GET", f"{CONNECTIONS}/{handle}/statistics"))

    def projection(self, handle: int, kind: int) -> dict[str, Any]:
        """RasGetProjectionInfo: the Windows structure's fields by their names."""
        projection: dict[str, Any] = self.client.call(
            "GET", f"{CONNECTIONS}/{handle}/projection/{kind}"
        )
        return projection

    def watch(
        self, handle: int | None = None, flags: int = 0x3, since: int | None = None
    ) -> Iterator[tuple[int, ConnectionEvent]]:
        """RasConnectionNotification as an iterator of ``(RASCN_* flag, event)``."""
        if since is None:
            since = int(self.client.call("GET", "/v1/health")["last_seq"])
        for event in HubQueue(self.hub(), since):
            if flag := _watch_flag(event, handle, flags):
                assert isinstance(event, ConnectionEvent)
                yield flag, event

    def wait_gone(self, handle: int, timeout: float = 30.0, interval: float = 0.02) -> bool:
        """Poll status until ERROR_INVALID_HANDLE (Microsoft's recommended hang-up loop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._exists(handle):
                return True
            time.sleep(interval)
        return False


class AsyncConnection:
    def __init__(self, ras: AsyncRas, handle: int, notes: list[Notification]) -> None:
        self.ras = ras
        self.handle = handle
        self.notifications = notes

    async def status(self) -> ConnectionRecord:
        return await self.ras.status(self.handle)

    async def hangup(self) -> None:
        await self.ras.hangup(self.handle)


class AsyncRas:
    """asyncio RAS client: ``async with ras.dial("entry") as conn: ...``."""

    def __init__(self, client: AsyncClient | None = None) -> None:
        self.client = client or AsyncClient()

    async def start_dial(self, entry: str, **kwargs: Any) -> DialStarted:
        return _started(
            await self.client.call("POST", CONNECTIONS, json=dial_body(entry, **kwargs))
        )

    async def notifications(self, handle: int, since: int) -> AsyncIterator[Notification]:
        """The dial's notifications in order; ends after the final one or at a hang-up.

        Read from the process's shared event stream (:mod:`.hub`), which resumes from the
        last sequence number after a cut-off or a daemon restart: nothing lost or repeated."""
        follower = DialFollower(handle, since)
        hub = hub_for(self.client.paths, self.client.autostart)
        stream = HubQueue(hub, since)
        try:
            async for event in stream:
                for note in follower.feed(event):
                    yield note
                if follower.done:
                    return
        except ApiError as lost:
            if hub.stopped:  # stopped on purpose: no daemon started to ask (see Ras)
                yield follower.give_up(lost)
                return
            try:
                exists = await self._exists(handle)
            except ApiError as exc:
                # No daemon to say how the dial ended (none could be started): the view
                # still ends, with the reason as its final notification.
                yield follower.give_up(exc)
                return
            if exists:
                raise lost
        finally:
            stream.close()

    async def _exists(self, handle: int) -> bool:
        try:
            await self.status(handle)
        except ApiError as exc:
            return _exists(exc)
        return True

    @asynccontextmanager
    async def dial(self, entry: str, **kwargs: Any) -> AsyncIterator[AsyncConnection]:
        """Dial and wait for the result; raises ApiError on failure; hangs up on exit."""
        started = await self.start_dial(entry, **kwargs)
        handle = started.handle
        notes = [n async for n in self.notifications(handle, started.seq)]
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

    async def hangup(self, handle: int) -> HangupStarted:
        return _hangup(await self.client.call("DELETE", f"{CONNECTIONS}/{handle}"))

    async def status(self, handle: int) -> ConnectionRecord:
        return decode_record(await self.client.call("GET", f"{CONNECTIONS}/{handle}"))

    async def connections(self, phases: Iterable[Phase] | None = None) -> list[ConnectionRecord]:
        rows = await self.client.call("GET", CONNECTIONS, params=_list_params(True, False, phases))
        return [decode_record(r) for r in rows]

    async def enumerate(self, phases: Iterable[Phase] | None = None) -> list[RasConn]:
        table = await self.client.call(
            "GET", CONNECTIONS, params=_list_params(False, False, phases, columns=True)
        )
        return decode_rasconn_table(table)

    async def statistics(self, handle: int) -> LinkStatistics:
        """RasGetConnectionStatistics."""
        return decode_statistics(
            await self.client.call("GET", f"{CONNECTIONS}/{handle}/statistics")
        )

    async def events(self, since: int | None = None, **filters: Any) -> AsyncIterator[Event]:
        async for event in self.client.events(since=since, **filters):
            yield event
