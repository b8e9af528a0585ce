"""The query of ``GET /v1/connections`` (RasEnumConnections): which phases, which view, and
each link's statistics when asked for."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..codes import ErrorCode, RasError
from ..events.types import Phase
from ..ras.manager import ConnectionManager
from ..ras.records import encode_statistics

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
