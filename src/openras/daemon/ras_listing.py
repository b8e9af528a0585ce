"""The query of ``GET /v1/connections`` (RasEnumConnections): which phases, which view, and
each link's statistics when asked for."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ..codes import ErrorCode, RasError
from ..events.types import Phase
from ..ras.manager import ConnectionManager
from ..ras.records import encode_rasconn, encode_statistics

LIST_QUERY: dict[str, dict[str, Any]] = {
    "full": {"type": "integer", "enum": [0, 1], "description": "1: full status records"},
    "statistics": {"type": "integer", "enum": [0, 1], "description": "1: add RAS_STATS"},
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


class RasconnCache:
    """Each handle's RASCONN object as JSON, encoded once per (device, flags): enumerating
    a thousand links is then a join, not a thousand records built and encoded."""

    def __init__(self) -> None:
        self._json: dict[int, tuple[tuple[str, str, int], str]] = {}

    def listing(self, manager: ConnectionManager, uid: int, phases: frozenset[Phase] | None) -> str:
        parts = []
        for conn in manager.listed(phases):
            flags = manager.flags_for(conn, uid)
            key = (conn.device.device_type, conn.device.device_name, flags)
            hit = self._json.get(conn.handle)
            if hit is None or hit[0] != key:
                hit = self._json[conn.handle] = (
                    key,
                    json.dumps(encode_rasconn(conn.rasconn(flags))),
                )
            parts.append(hit[1])
        if len(self._json) > 2 * len(manager.conns) + 64:  # forget released handles
            self._json = {h: v for h, v in self._json.items() if h in manager.conns}
        return "[" + ",".join(parts) + "]"
