"""Route declarations: each API module lists its routes once; the app registers them and the
OpenAPI document is generated from the same list (so the document cannot drift from the API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Route:
    method: str  # "GET", "POST", "PUT", "PATCH", "DELETE"
    path: str  # aiohttp syntax: "/v1/connections/{handle}"
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None  # JSON request body, validated with daemon.http.read_json
    # JSON Schemas of path and query parameters, e.g. {"handle": {"type": "integer", "minimum": 1}}
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream: bool = False  # text/event-stream of events
    events: bool = False  # a JSON array of events
    tags: list[str] = field(default_factory=list)
    response: dict[str, Any] | None = None  # JSON Schema of the 200 answer, when declared
