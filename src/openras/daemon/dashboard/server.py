"""The dashboard: a loopback HTTP site the daemon starts on demand, serving the page, its static
files and the daemon's own API routes under ``/api`` for the session's user.

Access (design.md "Dashboard"): ``POST /v1/dashboard/sessions`` on the Unix socket gives the
calling uid a one-time URL ``http://127.0.0.1:PORT/?token=…``; the browser trades the token for
an HttpOnly, SameSite=Strict session cookie. Every request then carries that uid to the very
same route handlers the Unix socket serves (``http.PEER_KEY``), so the dashboard can do exactly
what the user could do with the CLI. Beside that, every request must name this site in its
Host header (no DNS rebinding), come from a socket owned by the session's user or root
(/proc/net/tcp: a cookie or token carried to another user's program is useless), and every
action (a method other than GET/HEAD) must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from aiohttp import web

from ... import __version__
from ...codes import RASCS, ErrorCode, RasError, error_name
from ...context import DaemonContext
from ...users import is_privileged, login_name
from ..app import MAX_BODY, _access_middleware, _aiohttp_path
from ..http import PEER_KEY, Peer, error_response, errors_middleware, peer
from ..routes import Handler, Route
from . import steps, strings
from .sessions import Grant, Session, SessionBook
from .tcp_owner import owner_uid

STATIC = Path(__file__).resolve().parent / "static"
STATISTICS = "/v1/connections/{handle}/statistics"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NO_SESSION_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>openras</title>
<link rel="stylesheet" href="/static/style.css"></head><body class="signin">
<main><h1>openras</h1><p>{text}</p></main></body></html>"""


class DashboardService:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        cfg = ctx.config.raw.get("dashboard", {})
        if not isinstance(cfg, dict):
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "[dashboard] must be a table")
        self.enabled = bool(cfg.get("enabled", True))
        port = cfg.get("port", 0)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "[dashboard] port: 0…65535")
        self.wanted_port = port
        self.book = SessionBook()
        self.port = 0
        self._api: list[Route] = []
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    # -- the Unix-socket side ----------------------------------------------------------------
    def routes(self) -> list[Route]:
        return [
            Route(
                "POST",
                "/v1/dashboard/sessions",
                self.open_session,
                "Open the dashboard: a one-time URL for the calling user (starts the site)",
                tags=["dashboard"],
            )
        ]

    def use_api(self, routes: list[Route]) -> None:
        """The API routes the dashboard serves under /api (its own session route excepted)."""
        self._api = [r for r in routes if not r.path.startswith("/v1/dashboard")]

    async def open_session(self, request: web.Request) -> web.Response:
        who = peer(request)
        if not self.enabled:
            raise RasError(ErrorCode.ERROR_NOT_SUPPORTED, "the dashboard is disabled")
        await self._ensure_started()
        token = self.book.issue(Grant(who.uid, who.gid))
        return web.json_response(
            {
                "url": f"http://127.0.0.1:{self.port}/?token={token}",
                "port": self.port,
                "expires_in": self.book.token_ttl,
            },
            status=201,
        )

    async def _ensure_started(self) -> None:
        async with self._lock:
            if self._runner is not None:
                return
            runner = web.AppRunner(self._build_app(), handle_signals=False, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", self.wanted_port)
            try:
                await site.start()
            except OSError as exc:
                await runner.cleanup()
                raise RasError(
                    ErrorCode.ERROR_PORT_ALREADY_OPEN,
                    f"dashboard port {self.wanted_port}: {exc.strerror}",
                ) from None
            self.port = int(runner.addresses[0][1])
            self._runner = runner
            self.ctx.log.info("dashboard on http://127.0.0.1:%d/", self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    # -- the loopback site ----------------------------------------------------------------------
    @property
    def cookie(self) -> str:
        # Cookies ignore ports: a name per port keeps two daemons' sessions apart.
        return f"openras_session_{self.port}"

    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._guard, errors_middleware, self._access()],
            client_max_size=MAX_BODY,
        )
        app.on_response_prepare.append(_security_headers)
        app.router.add_get("/", self.index)
        app.router.add_get("/ui/session", self.session_info)
        app.router.add_get(r"/ui/errors/{code:\d{1,10}}", self.error_text)
        app.router.add_post("/ui/logout", self.logout)
        app.router.add_static("/static/", STATIC)
        for route in self._api:
            app.router.add_route(route.method, "/api" + _aiohttp_path(route), route.handler)
        return app

    def _access(self) -> Any:
        """The API's own allow_users check, for requests that carry a session's user."""
        access = _access_middleware(self.ctx)

        @web.middleware
        async def signed_in_access(request: web.Request, handler: Handler) -> web.StreamResponse:
            if PEER_KEY in request:
                return await access(request, handler)
            return await handler(request)

        return signed_in_access

    async def _browser_uid(self, request: web.Request) -> int | None:
        transport = request.transport
        if transport is None:
            return None
        client, server = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        if not client or not server:
            return None
        return await asyncio.to_thread(owner_uid, client[:2], server[:2])

    def _session(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(self.cookie)
        return self.book.get(sid) if sid else None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            return error_response(ErrorCode.ERROR_ACCESS_DENIED, "wrong Host", status=403)
        origin = request.headers.get("Origin")
        if origin is not None and origin not in (
            f"http://127.0.0.1:{self.port}",
            f"http://localhost:{self.port}",
        ):
            return error_response(ErrorCode.ERROR_ACCESS_DENIED, "cross-origin", status=403)
        session = self._session(request)
        if session is not None:
            browser = await self._browser_uid(request)
            if browser != session.grant.uid and browser != 0:
                return error_response(
                    ErrorCode.ERROR_ACCESS_DENIED, "session of another user", status=403
                )
            if request.method not in SAFE_METHODS and not session.csrf_matches(
                request.headers.get("X-CSRF-Token", "")
            ):
                return error_response(
                    ErrorCode.ERROR_ACCESS_DENIED, "CSRF token missing or wrong", status=403
                )
            request[PEER_KEY] = Peer(0, session.grant.uid, session.grant.gid)
        elif request.path != "/" and not request.path.startswith("/static/"):
            return error_response(ErrorCode.ERROR_ACCESS_DENIED, "no dashboard session", status=401)
        return await handler(request)

    async def index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token:
            return await self._sign_in(request, token)
        if self._session(request) is None:
            text = strings.texts(strings.languages(request.headers.get("Accept-Language")))
            return web.Response(
                text=NO_SESSION_PAGE.format(text=text["session_needed"]),
                content_type="text/html",
                status=401,
            )
        return web.FileResponse(STATIC / "index.html")

    async def _sign_in(self, request: web.Request, token: str) -> web.StreamResponse:
        grant = self.book.peek(token)
        browser = await self._browser_uid(request)
        # A token seen by another user (in a process list, a shared terminal) opens nothing.
        if grant is None or (browser != grant.uid and browser != 0):
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, "token expired, used or not yours")
        session = self.book.redeem(token)
        assert session is not None
        response = web.HTTPSeeOther("/")  # drop the token from the address bar and history
        response.set_cookie(self.cookie, session.sid, httponly=True, samesite="Strict", path="/")
        return response

    async def session_info(self, request: web.Request) -> web.Response:
        session = self._session(request)
        assert session is not None  # the guard let it through
        uid = session.grant.uid
        langs = strings.languages(request.headers.get("Accept-Language"))
        return web.json_response(
            {
                "uid": uid,
                "user": await asyncio.to_thread(login_name, uid) or f"uid {uid}",
                "privileged": is_privileged(uid),
                "csrf": session.csrf,
                "last_seq": self.ctx.events.last_seq,
                "languages": list(langs),
                "texts": strings.texts(langs),
                # RasGetConnectionStatistics, where this daemon has it (the page polls it).
                "statistics": any(r.path == STATISTICS for r in self._api),
                "steps": steps.encoded(),
                "states": {int(s): s.name for s in RASCS},
                "version": __version__,
            }
        )

    async def error_text(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        langs = strings.languages(request.headers.get("Accept-Language"))
        return web.json_response(
            {"error": code, "name": error_name(code), "message": strings.message(code, langs)}
        )

    async def logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is not None:
            self.book.end(session.sid)
        response = web.json_response({})
        response.del_cookie(self.cookie, path="/")
        return response


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers: dict[str, Any] = {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
