"""The aiohttp application: access control, routes, OpenAPI, health and metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from ..codes import ErrorCode, RasError
from ..context import DaemonContext
from ..ras.connection import Phase
from ..ras.manager import ConnectionManager
from ..users import is_privileged
from . import openapi
from .http import errors_middleware, peer
from .ras_routes import RasApi
from .routes import Handler, Route

MAX_BODY = 17 * 1024 * 1024


def _access_middleware(ctx: DaemonContext) -> Any:
    allowed = ctx.config.allow_users

    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        uid = peer(request).uid
        if not is_privileged(uid) and allowed != "*" and uid not in allowed:
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"uid {uid} may not use this daemon")
        return await handler(request)

    return access


def _aiohttp_path(route: Route) -> str:
    """Constrain path parameters to their schema, so '/v1/connections/abc' is a clean 404."""
    path = route.path
    for name, schema in route.path_params.items():
        if schema.get("type") == "integer":
            pattern = r"\d{1,18}"
        elif "pattern" in schema:
            pattern = schema["pattern"].lstrip("^").rstrip("$")
        else:
            continue
        path = path.replace("{" + name + "}", "{" + name + ":" + pattern + "}")
    return path


def build_app(
    ctx: DaemonContext, manager: ConnectionManager, extra_routes: list[Route]
) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, _access_middleware(ctx)], client_max_size=MAX_BODY
    )
    ras = RasApi(manager, ctx.store, ctx.events, ctx.uid)
    routes = ras.routes() + extra_routes
    document = openapi.build(routes)

    async def get_openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    async def health(request: web.Request) -> web.Response:
        import os

        return web.json_response(
            {
                "version": __version__,
                "pid": os.getpid(),
                "uid": ctx.uid,
                "last_seq": ctx.events.last_seq,
                "connections": len(manager.conns),
            }
        )

    async def metrics(request: web.Request) -> web.Response:
        lines = ["# TYPE openras_connections gauge"]
        for phase in Phase:
            n = sum(1 for c in manager.conns.values() if c.phase is phase)
            lines.append(f'openras_connections{{phase="{phase.value}"}} {n}')
        for name, value in manager.stats.items():
            lines.append(f"# TYPE openras_{name}_total counter")
            lines.append(f"openras_{name}_total {value}")
        lines += [
            "# TYPE openras_event_seq gauge",
            f"openras_event_seq {ctx.events.last_seq}",
            "# TYPE openras_event_subscribers gauge",
            f"openras_event_subscribers {ctx.events.subscribers}",
            "# TYPE openras_store_pending gauge",
            f"openras_store_pending {ctx.store.pending}",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    for route in routes:
        app.router.add_route(route.method, _aiohttp_path(route), route.handler)
    for path in ("/openapi.json", "/v1/openapi.json"):
        app.router.add_get(path, get_openapi)
    app.router.add_get("/v1/health", health)
    app.router.add_get("/metrics", metrics)
    return app
