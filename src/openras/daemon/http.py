"""HTTP conventions shared by every route: peer credentials, JSON bodies, error responses.

Errors are ``{"error": code, "name": "ERROR_…", "message": "…"}`` with the RAS / Win32 code;
the HTTP status is only a coarse hint (404 for an unknown handle or name, 403 for access,
400 for bad input, 409 for a state conflict). ``message`` is in the language the client asks
for with ``Accept-Language`` (English without one); no other field changes with it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import struct
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..codes import ErrorCode, RasError, error_name, error_string
from ..i18n import header_languages
from ..store import disk_error
from .routes import Handler

M = TypeVar("M", bound=BaseModel)
INLINE_BODY = 64 * 1024  # larger bodies are parsed off the event loop

_STATUS: dict[int, int] = {
    ErrorCode.ERROR_INVALID_HANDLE: 404,
    ErrorCode.ERROR_CANNOT_FIND_PHONEBOOK_ENTRY: 404,
    ErrorCode.ERROR_NOT_CONNECTED: 404,
    ErrorCode.ERROR_BAD_NET_NAME: 404,
    ErrorCode.ERROR_ACCESS_DENIED: 403,
    ErrorCode.ERROR_INVALID_PARAMETER: 400,
    ErrorCode.ERROR_CORRUPT_PHONEBOOK: 400,
    ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK: 400,
    ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK: 400,
    ErrorCode.ERROR_INVALID_SIZE: 400,
    ErrorCode.ERROR_NOT_SUPPORTED: 400,
    ErrorCode.ERROR_DISK_FULL: 507,
    ErrorCode.ERROR_NOT_ENOUGH_QUOTA: 413,
}


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int

    @property
    def is_root(self) -> bool:
        return self.uid == 0


# Where a front end that authenticated the caller itself (the dashboard's session) puts the
# caller, so that every route applies the same checks to it as to a Unix-socket peer.
PEER_KEY = "openras.peer"


def peer(request: web.Request) -> Peer:
    """SO_PEERCRED of the client on the other end of the Unix socket (or the dashboard's
    session user, set under PEER_KEY by its middleware)."""
    given = request.get(PEER_KEY)
    if isinstance(given, Peer):
        return given
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, "peer credentials unavailable")
    pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return Peer(pid, uid, gid)


def request_languages(request: web.Request) -> tuple[str, ...]:
    """The languages of the client's ``Accept-Language`` header, best first (none: English)."""
    return header_languages(request.headers.get("Accept-Language"))


def error_body(code: int, detail: str = "", languages: tuple[str, ...] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": code,
        "name": error_name(code),
        "message": error_string(code, languages),
    }
    if detail:
        body["detail"] = detail
    return body


def http_status(code: int) -> int:
    """The coarse HTTP status that goes with a RAS / Win32 code."""
    return _STATUS.get(code, 409)


def error_response(
    code: int, detail: str = "", status: int | None = None, languages: tuple[str, ...] = ()
) -> web.Response:
    return web.json_response(
        error_body(code, detail, languages), status=status or http_status(code)
    )


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body; bad input is ERROR_INVALID_PARAMETER (87). A large body is
    parsed in a worker thread so that it does not hold up the event loop."""
    raw = await request.read()
    if len(raw) > INLINE_BODY:
        return await asyncio.to_thread(parse_json, raw, model)
    return parse_json(raw, model)


def parse_json(raw: bytes, model: type[M]) -> M:
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"body is not JSON: {exc}") from None
    except RecursionError:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "body nested too deeply") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"{where}: {first.get('msg')}") from None


def query_int(
    request: web.Request, name: str, default: int | None = None, lo: int = 0, hi: int = 2**63 - 1
) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"{name} must be an integer") from None
    if not lo <= number <= hi:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"{name} out of range")
    return number


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes the JSON error body: RasError with its code, the rest 635/87."""
    langs = request_languages(request)
    try:
        return await handler(request)
    except RasError as exc:
        return error_response(exc.code, exc.detail, languages=langs)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            return error_response(
                ErrorCode.ERROR_INVALID_PARAMETER
                if exc.status == 405
                else ErrorCode.ERROR_NOT_SUPPORTED,
                exc.reason,
                status=exc.status,
                languages=langs,
            )
        if exc.status == 413:
            return error_response(
                ErrorCode.ERROR_INVALID_PARAMETER,
                "request body too large",
                status=413,
                languages=langs,
            )
        raise
    except sqlite3.Error as exc:
        if not disk_error(exc):
            request.app.logger.exception("store error in %s %s", request.method, request.path)
            return error_response(ErrorCode.ERROR_UNKNOWN, type(exc).__name__, status=500)
        return error_response(ErrorCode.ERROR_DISK_FULL, "the daemon's store cannot be written")
    except Exception as exc:
        request.app.logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(
            ErrorCode.ERROR_UNKNOWN, type(exc).__name__, status=500, languages=langs
        )
