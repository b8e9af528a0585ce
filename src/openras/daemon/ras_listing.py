"""The query of ``GET /v1/connections`` (RasEnumConnections): which phases, which view, and
each link's statistics when asked for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

from ..codes import ErrorCode, RasError
from ..events.types import Phase
from ..ras.connection import Connection
from ..ras.manager import ConnectionManager
from ..ras.records import (
    RASCONN_COLUMNS,
    RasConn,
    encode_rasconn,
    encode_statistics,
    rasconn_row,
)

LIST_QUERY: dict[str, dict[str, Any]] = {
    "full": {"type": "integer", "enum": [0, 1], "description": "1: full status records"},
    "statistics": {"type": "integer", "enum": [0, 1], "description": "1: add RAS_STATS"},
    "form": {
        "type": "string",
        "enum": ["objects", "columns"],
        "description": "RASCONN view only: a list of objects (default), or "
        '{"columns": [names], "rows": [[values], ...]}',
    },
    "phase": {
        "type": "string",
        "description": "Comma-separated phases to list: " + ", ".join(p.value for p in Phase),
    },
}


def query_phases(request: web.Request) -> frozenset[Phase] | None:
    text = request.query.get("phase", "")
    if not text:
        return None
    try:
        return frozenset(Phase(p) for p in text.split(",") if p)
    except ValueError:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"unknown phase in {text!r}") from None


async def add_statistics(manager: ConnectionManager, rows: list[dict[str, Any]]) -> None:
    """Each row gets ``statistics`` (None for a handle gone meanwhile)."""

    async def one(row: dict[str, Any]) -> None:
        try:
            row["statistics"] = encode_statistics(await manager.fresh_statistics(row["handle"]))
        except RasError:
            row["statistics"] = None

    await asyncio.gather(*(one(row) for row in rows))


class ListForm(StrEnum):
    """How the RASCONN view is written: a list of objects, or ``columns`` + ``rows``."""

    OBJECTS = "objects"
    COLUMNS = "columns"


def query_form(request: web.Request, records: bool) -> ListForm:
    """``form``; ``records``: full records or statistics asked for, which have objects only."""
    text = request.query.get("form", "") or ListForm.OBJECTS
    try:
        form = ListForm(text)
    except ValueError:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"unknown form {text!r}") from None
    if records and form is not ListForm.OBJECTS:
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER, "form=columns goes without full and statistics"
        )
    return form


# Views (caller × phases × form) kept at once; the oldest is dropped past this.
MAX_VIEWS = 32

_OPEN = {
    ListForm.OBJECTS: "[",
    ListForm.COLUMNS: json.dumps({"columns": list(RASCONN_COLUMNS)}, separators=(",", ":"))[:-1]
    + ',"rows":[',
}
_CLOSE = {ListForm.OBJECTS: "]", ListForm.COLUMNS: "]}"}


def _row_json(conn: RasConn, form: ListForm) -> str:
    row = encode_rasconn(conn) if form is ListForm.OBJECTS else rasconn_row(conn)
    return json.dumps(row, separators=(",", ":"))


@dataclass(slots=True)
class _Rows:
    """One handle's rows as JSON, by form and by whether the caller owns it: a caller's
    dwFlags depend on who it is only through RASCF_OwnerMatch (``flags_for``)."""

    guid: str  # the connection the handle named when the rows were made
    device_name: str
    text: dict[tuple[ListForm, bool], str]


@dataclass(frozen=True, slots=True)
class _Body:
    data: bytes
    # A dialing link's device may still be finding its name (the SSH device names its host
    # after OpenPort is announced): those rows are compared at each use, the others cannot
    # change without an event. By handle: a body holds on to no connection.
    dialing: tuple[tuple[int, str], ...]

    def current(self, conns: Mapping[int, Connection]) -> bool:
        for handle, name in self.dialing:
            conn = conns.get(handle)
            if conn is None or conn.device.device_name != name:
                return False
        return True


class RasconnCache:
    """Each caller's view of the RASCONN listing, encoded once: enumerating a thousand links is
    a look-up until a connection changes, and a join of each handle's cached row after.

    Every change of a listed field, phase or the set of handles publishes an event (a dial's
    new handle is also a new count), so the daemon's last sequence number and the number of
    handles mark when the bodies were made; any difference drops them all."""

    def __init__(self) -> None:
        self._mark: tuple[int, int] | None = None
        self._bodies: dict[tuple[int, frozenset[Phase] | None, ListForm], _Body] = {}
        self._rows: dict[int, _Rows] = {}

    def listing(
        self,
        manager: ConnectionManager,
        uid: int,
        phases: frozenset[Phase] | None,
        form: ListForm = ListForm.OBJECTS,
    ) -> bytes:
        mark = (manager.ctx.events.last_seq, len(manager.conns))
        if mark != self._mark:
            self._bodies.clear()
            self._mark = mark
        key = (uid, phases, form)
        body = self._bodies.get(key)
        if body is None or not body.current(manager.conns):
            self._bodies.pop(key, None)
            if len(self._bodies) >= MAX_VIEWS:
                del self._bodies[next(iter(self._bodies))]
            body = self._bodies[key] = self._encode(manager, uid, phases, form)
        return body.data

    def _encode(
        self,
        manager: ConnectionManager,
        uid: int,
        phases: frozenset[Phase] | None,
        form: ListForm,
    ) -> _Body:
        conns = manager.listed(phases)
        parts = []
        for conn in conns:
            name = conn.device.device_name
            rows = self._rows.get(conn.handle)
            if rows is None or rows.guid != conn.guid or rows.device_name != name:
                rows = self._rows[conn.handle] = _Rows(conn.guid, name, {})
            which = (form, conn.owner_uid == uid)
            text = rows.text.get(which)
            if text is None:
                text = rows.text[which] = _row_json(
                    conn.rasconn(manager.flags_for(conn, uid)), form
                )
            parts.append(text)
        if len(self._rows) > 2 * len(manager.conns) + 64:  # forget released handles
            self._rows = {h: r for h, r in self._rows.items() if h in manager.conns}
        dialing = tuple((c.handle, c.device.device_name) for c in conns if c.phase is Phase.DIALING)
        data = _OPEN[form] + ",".join(parts) + _CLOSE[form]
        return _Body(data.encode(), dialing)
