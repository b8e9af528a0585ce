"""The MPR service: builds the router from the daemon context and declares the /v1/net API.

Configuration (openras.toml)::

    [mpr]
    provider_order = ["openras SMB", "openras SFTP"]   # or "package.module:Class"
    notifyee_timeout = 10        # seconds per notifyee call
    notifyee_max_retries = 10    # WN_RETRY re-attempts per operation
    connect_timeout = 60         # seconds per provider connect
    [mpr.smb]                    # options handed to that provider (ConnectRequest.options)
    port = 445
    [notifyees]                  # registration order = the order of this table
    audit = "/etc/openras/notify/audit.py"

Hooks for the daemon: ``MprService(ctx)``, ``await start()`` (providers loaded, remembered
connections restored in the background — :meth:`wait_restored` waits for that), ``routes()``
to register, ``await stop()`` at shutdown (every connection closed, forced, no notifyees).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..codes import ErrorCode, RasError
from ..context import DaemonContext
from ..mpr.netresource import NETRESOURCE
from ..mpr.notifyees import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Notifyees
from ..mpr.providers.base import Provider
from ..mpr.remembered import Remembered
from ..mpr.router import Caller, MprError, Router
from .http import error_body, http_status, peer, query_int, read_json, request_languages
from .routes import Route

BUILTIN_PROVIDERS = {
    "openras smb": "openras.mpr.providers.smb:SmbProvider",
    "openras sftp": "openras.mpr.providers.sftp:SftpProvider",
}
DEFAULT_ORDER = ["openras SMB", "openras SFTP"]

Name = Annotated[str, StringConstraints(max_length=4096)]
Secret = Annotated[str, StringConstraints(max_length=1024)]
DWord = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
NAME_PARAM = {
    "type": "string",
    "pattern": "^.+$",
    "description": "A local name (X: or a path) or a remote name, percent-encoded",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetResourceBody(_Body):
    dwScope: DWord = 0
    dwType: DWord = 0
    dwDisplayType: DWord = 0
    dwUsage: DWord = 0
    lpLocalName: Name | None = Field(
        default=None, description='X:, an absolute directory, or null/"" (deviceless)'
    )
    lpRemoteName: Name | None = Field(
        default=None, description=r"\\server\share, smb://host[:port]/share, sftp://…"
    )
    lpComment: Name | None = None
    lpProvider: Name | None = Field(
        default=None, description="null = the router picks; otherwise only that one"
    )

    def netresource(self) -> NETRESOURCE:
        return NETRESOURCE(**self.model_dump())


class AddBody(_Body):
    netresource: NetResourceBody
    password: Secret | None = Field(
        default=None, description='null = the default, "" = none; never returned'
    )
    user: Name | None = Field(default=None, description="null = the default")
    flags: DWord = Field(default=0, description="CONNECT_* flags")
    owner: int | None = Field(default=None, description="hwndOwner (WNetAddConnection3); ignored")


class EnumBody(_Body):
    dwScope: DWord
    dwType: DWord = 0
    dwUsage: DWord = 0
    container: NetResourceBody | None = None


class ResourceBody(_Body):
    netresource: NetResourceBody


class SettingsBody(_Body):
    persistent: bool = Field(
        description="net use /PERSISTENT: new device connections are remembered"
    )


def _number(cfg: dict[str, Any], key: str, default: float) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER, f"[mpr] {key} must be a non-negative number"
        )
    return float(value)


def load_provider(spec: str) -> Provider:
    target = BUILTIN_PROVIDERS.get(spec.casefold(), spec)
    module, sep, cls = target.partition(":")
    if not sep:
        raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"unknown provider {spec!r}")
    provider = getattr(importlib.import_module(module), cls)()
    if not isinstance(provider, Provider):
        raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"{target} is not a Provider")
    return provider


def _caller(request: web.Request) -> Caller:
    p = peer(request)
    return Caller(p.uid, p.pid)


def _mpr_error(exc: MprError, request: web.Request) -> web.Response:
    body = error_body(exc.code, exc.detail, request_languages(request))
    body.update(exc.extra)
    body["notifyee_errors"] = exc.notifyee_errors
    return web.json_response(body, status=http_status(exc.code))


class MprService:
    def __init__(self, ctx: DaemonContext, providers: list[Provider] | None = None) -> None:
        self.ctx = ctx
        cfg = ctx.config.mpr
        self.log = ctx.log.getChild("mpr")
        order = cfg.get("provider_order", DEFAULT_ORDER)
        if not isinstance(order, list) or not all(isinstance(p, str) for p in order):
            raise RasError(
                ErrorCode.ERROR_INVALID_PARAMETER, "[mpr] provider_order must be a list of names"
            )
        self.provider_order: list[str] = order
        self._given_providers = providers
        self.remembered = Remembered(ctx.store)
        self.notifyees = Notifyees(
            ctx.config.notifyees,
            ctx.uid,
            ctx.events,
            self.log.getChild("notifyees"),
            timeout=_number(cfg, "notifyee_timeout", DEFAULT_TIMEOUT),
            max_retries=int(_number(cfg, "notifyee_max_retries", DEFAULT_MAX_RETRIES)),
        )
        options = {k: v for k, v in cfg.items() if isinstance(v, dict)}
        self.router = Router(
            [],
            remembered=self.remembered,
            notifyees=self.notifyees,
            drives_dir=ctx.paths.state / "drives",
            events=ctx.events,
            log=self.log,
            provider_options=options,
            connect_timeout=_number(cfg, "connect_timeout", 60.0),
        )
        self._restore_task: asyncio.Task[list[dict[str, Any]]] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        providers = self._given_providers
        if providers is None:
            providers = []
            for spec in self.provider_order:
                try:
                    providers.append(load_provider(spec))
                except Exception as exc:
                    self.log.error("provider %r not loaded: %s", spec, exc)
        self.router.set_providers(providers)
        self.log.info("providers: %s", ", ".join(p.name for p in providers) or "none")
        await self.notifyees.check_all()
        self._restore_task = asyncio.create_task(self.router.restore(), name="mpr-restore")

    async def wait_restored(self) -> list[dict[str, Any]]:
        """Wait for the restore of remembered connections started by :meth:`start`."""
        return await self._restore_task if self._restore_task is not None else []

    async def stop(self) -> None:
        if self._restore_task is not None and not self._restore_task.done():
            self._restore_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restore_task
        await self.router.close_all()
        for p in self.router.providers:
            try:
                await p.close()
            except Exception as exc:
                self.log.warning("provider %s close: %s", p.name, exc)

    # -- handlers ----------------------------------------------------------------------------
    async def add(self, request: web.Request) -> web.Response:
        body = await read_json(request, AddBody)
        try:
            result = await self.router.add_connection(
                _caller(request),
                body.netresource.netresource(),
                body.password,
                body.user,
                body.flags,
                body.owner,
            )
        except MprError as exc:
            return _mpr_error(exc, request)
        return web.json_response(result, status=201)

    async def universal(self, request: web.Request) -> web.Response:
        path = request.query.get("path", "")
        try:
            result = await self.router.universal_name(
                _caller(request), path, query_int(request, "uid", None)
            )
        except MprError as exc:
            return _mpr_error(exc, request)
        return web.json_response(result)

    async def resource_information(self, request: web.Request) -> web.Response:
        body = await read_json(request, ResourceBody)
        resource, system = self.router.resource_information(body.netresource.netresource())
        return web.json_response({"netresource": resource.to_json(), "system": system})

    async def resource_parent(self, request: web.Request) -> web.Response:
        body = await read_json(request, ResourceBody)
        resource = self.router.resource_parent(body.netresource.netresource())
        return web.json_response({"netresource": resource.to_json()})

    async def list_connections(self, request: web.Request) -> web.Response:
        all_users = request.query.get("all", "") in ("1", "true", "yes")
        caller = _caller(request)
        return web.json_response(
            {
                "persistent": self.remembered.persistent_default(caller.uid),
                "connections": self.router.list_connections(caller, all_users),
            }
        )

    async def get(self, request: web.Request) -> web.Response:
        try:
            result = await self.router.get_connection(
                _caller(request), request.match_info["name"], query_int(request, "uid", None)
            )
        except MprError as exc:
            return _mpr_error(exc, request)
        return web.json_response(result)

    async def cancel(self, request: web.Request) -> web.Response:
        flags = query_int(request, "flags", 0, hi=0xFFFFFFFF) or 0
        force = request.query.get("force", "") in ("1", "true", "yes")
        try:
            result = await self.router.cancel_connection(
                _caller(request),
                request.match_info["name"],
                flags,
                force,
                query_int(request, "uid", None),
            )
        except MprError as exc:
            return _mpr_error(exc, request)
        return web.json_response(result)

    async def open_enum(self, request: web.Request) -> web.Response:
        body = await read_json(request, EnumBody)
        container = body.container.netresource() if body.container else None
        handle = await self.router.open_enum(
            _caller(request), body.dwScope, body.dwType, body.dwUsage, container
        )
        return web.json_response({"handle": handle}, status=201)

    async def enum(self, request: web.Request) -> web.Response:
        count = query_int(request, "count", 64, lo=1, hi=65536) or 64
        items = self.router.enum_resource(
            _caller(request), int(request.match_info["handle"]), count
        )
        return web.json_response({"items": [i.to_json() for i in items]})

    async def close_enum(self, request: web.Request) -> web.Response:
        self.router.close_enum(_caller(request), int(request.match_info["handle"]))
        return web.json_response({})

    async def last_error(self, request: web.Request) -> web.Response:
        code, text, provider = self.router.last_error(_caller(request))
        return web.json_response({"error": code, "text": text, "provider": provider})

    async def user(self, request: web.Request) -> web.Response:
        name = await self.router.get_user(
            _caller(request), request.query.get("name") or None, query_int(request, "uid", None)
        )
        return web.json_response({"user": name})

    async def providers(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": p.name, "type": p.provider_type, "order": i}
                for i, p in enumerate(self.router.providers)
            ]
        )

    async def get_settings(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"persistent": self.remembered.persistent_default(_caller(request).uid)}
        )

    async def put_settings(self, request: web.Request) -> web.Response:
        body = await read_json(request, SettingsBody)
        self.remembered.set_persistent_default(_caller(request).uid, body.persistent)
        return web.json_response({"persistent": body.persistent})

    def routes(self) -> list[Route]:
        tags = ["net"]
        handle = {"handle": {"type": "integer", "minimum": 1}}
        uid = {
            "uid": {"type": "integer", "minimum": 0, "description": "whose drive names (root only)"}
        }
        return [
            Route(
                "POST",
                "/v1/net/connections",
                self.add,
                "WNetAddConnection2/3: connect a network resource",
                body=AddBody,
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/connections",
                self.list_connections,
                "Connections (OK / Disconnected) and remembered ones (Unavailable), "
                "as net use lists them",
                query={"all": {"type": "boolean", "description": "every user's (root only)"}},
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/connections/{name}",
                self.get,
                "WNetGetConnection: the remote name of a local name",
                path_params={"name": NAME_PARAM},
                query=uid,
                tags=tags,
            ),
            Route(
                "DELETE",
                "/v1/net/connections/{name}",
                self.cancel,
                "WNetCancelConnection2: a local name, "
                "or every deviceless connection to a remote name",
                path_params={"name": NAME_PARAM},
                query={
                    "flags": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "CONNECT_UPDATE_PROFILE forgets",
                    },
                    "force": {"type": "boolean"},
                    **uid,
                },
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/universal-name",
                self.universal,
                "WNetGetUniversalName: the remote form of a path under a drive (Z:\\dir\\file) "
                "or a mapped directory",
                query={"path": {"type": "string", "minLength": 1, "maxLength": 4096}, **uid},
                tags=tags,
            ),
            Route(
                "POST",
                "/v1/net/resource-information",
                self.resource_information,
                "WNetGetResourceInformation: the resource a remote name lies in, its provider "
                "and the path below it (from the name; no server is asked)",
                body=ResourceBody,
                tags=tags,
            ),
            Route(
                "POST",
                "/v1/net/resource-parent",
                self.resource_parent,
                "WNetGetResourceParent: the container one level up",
                body=ResourceBody,
                tags=tags,
            ),
            Route(
                "POST",
                "/v1/net/enum",
                self.open_enum,
                "WNetOpenEnum: a snapshot; returns its handle",
                body=EnumBody,
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/enum/{handle}",
                self.enum,
                "WNetEnumResource: up to count items; ERROR_NO_MORE_ITEMS (259) at the end",
                path_params=handle,
                query={"count": {"type": "integer", "minimum": 1, "maximum": 65536}},
                tags=tags,
            ),
            Route(
                "DELETE",
                "/v1/net/enum/{handle}",
                self.close_enum,
                "WNetCloseEnum",
                path_params=handle,
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/last-error",
                self.last_error,
                "WNetGetLastError: this client process's last provider error",
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/user",
                self.user,
                "WNetGetUser: the user of a connection, or the caller's name",
                query={"name": {"type": "string"}, **uid},
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/providers",
                self.providers,
                "Providers in the order they are asked",
                tags=tags,
            ),
            Route(
                "GET",
                "/v1/net/settings",
                self.get_settings,
                "The caller's net use /PERSISTENT default",
                tags=tags,
            ),
            Route(
                "PUT",
                "/v1/net/settings",
                self.put_settings,
                "Set the caller's net use /PERSISTENT default",
                body=SettingsBody,
                tags=tags,
            ),
        ]
