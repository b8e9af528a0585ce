"""The RAS API: phonebook entries, saved credentials, dial / hang-up / status / enumeration,
projection, and the event stream (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from .. import phonebook
from ..codes import ErrorCode, RasError
from ..entry_keys import check_entry
from ..events import DialRefused, EntryChanged, Event, EventBus, EventKind, NetChanged, encode
from ..ras.dialing import DialCall, check_store_name, credential_key, dial_request, find_entry
from ..ras.manager import ConnectionManager
from ..ras.records import (
    SAVED_PASSWORD_HANDLE,
    LinkStatistics,
    encode_projection,
    encode_rasconn,
    encode_record,
    encode_statistics,
)
from ..store import Store
from ..users import is_privileged
from .big_answers import AnswerGate, send_json
from .http import peer, query_int, read_json
from .ras_listing import LIST_QUERY, RasconnCache, add_statistics, query_form, query_phases
from .routes import Route
from .sse import stream_events

Short = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Line = tuple[
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
    Annotated[str, StringConstraints(max_length=4096)],
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryCreate(_Body):
    name: Name
    lines: list[Line] | None = Field(
        default=None, max_length=4096, description="Ordered KEY=VALUE lines, case-sensitive keys"
    )
    properties: dict[str, Annotated[str, StringConstraints(max_length=4096)]] | None = Field(
        default=None,
        max_length=4096,
        description="KEY -> VALUE, applied after lines (replacing the first occurrence)",
    )


class EntryUpdate(_Body):
    name: Name | None = Field(default=None, description="New name (rename)")
    lines: list[Line] | None = Field(default=None, max_length=4096, description="Replace all lines")
    properties: dict[str, Annotated[str, StringConstraints(max_length=4096)]] | None = Field(
        default=None, max_length=4096
    )


class Credentials(_Body):
    user: Short = ""
    password: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        default=None, description="None keeps the saved password"
    )
    domain: Short = ""
    remove_password: bool = False


class ImportBody(_Body):
    text: Annotated[str, StringConstraints(max_length=16 * 1024 * 1024)]
    replace: bool = Field(default=False, description="Replace entries that already exist")


class DialBody(_Body):
    entry: Annotated[str, StringConstraints(max_length=256)] = ""
    phonebook: Annotated[str, StringConstraints(max_length=4096)] = Field(
        default="",
        description="Path of a phonebook file (for RASCONN); its text goes in phonebook_text",
    )
    phonebook_text: Annotated[str, StringConstraints(max_length=16 * 1024 * 1024)] | None = Field(
        default=None,
        description="The phonebook file's text, read by the client with its own permissions",
    )
    phone_number: Short = ""
    callback_number: Short = ""
    user: Short = ""
    password: Annotated[str, StringConstraints(max_length=1024)] = ""
    domain: Short = ""
    device: Annotated[str, StringConstraints(max_length=32)] = Field(
        default="", description="DEVICE for a dial without an entry"
    )
    tag: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = Field(
        default="",
        description="The caller's random tag, echoed on the dial's first event (its `tag`): "
        "a client follows its dial from there, before this answer reaches it",
    )


def _entry_from_body(
    name: str, lines: list[Line] | None, properties: dict[str, str] | None
) -> phonebook.Entry:
    entry = phonebook.Entry(phonebook.check_name(name), [(k, v) for k, v in lines or []])
    entry.update(properties or {})
    return entry


def _may_edit(owner_uid: int, uid: int, daemon_uid: int) -> None:
    if not is_privileged(uid) and uid != owner_uid:
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, "entry belongs to another user")


def _entry_json(
    name: str, owner: int, lines: list[tuple[str, str]], store: Store, uid: int
) -> dict[str, Any]:
    body = phonebook.Entry(name, lines).to_json()
    body["owner_uid"] = owner
    creds = store.get_credentials(uid, name)  # the caller's own saved credentials
    body["have_password"] = bool(creds and creds[1] is not None)
    return body


def entry_warnings(entry: phonebook.Entry) -> list[str]:
    """Write-time checks (near-miss keys, entries no device dials): reported, never refused."""
    return [w.message for w in check_entry(entry)]


class RasApi:
    def __init__(
        self, manager: ConnectionManager, store: Store, events: EventBus, daemon_uid: int
    ) -> None:
        self.m = manager
        self.store = store
        self.events = events
        self.daemon_uid = daemon_uid
        self._rasconns = RasconnCache()
        self.config = manager.ctx.config
        self.gate = AnswerGate()

    def _check_quota(self, uid: int, entries: list[phonebook.Entry], new: int) -> None:
        """Per-user bounds, checked before anything is stored: ``new`` entries more for ``uid``,
        and each entry's size."""
        for entry in entries:
            if entry.size > self.config.max_entry_bytes:
                raise RasError(
                    ErrorCode.ERROR_NOT_ENOUGH_QUOTA,
                    f"entry {entry.name!r} is larger than {self.config.max_entry_bytes} bytes",
                )
        if new and self.store.count_entries(uid) + new > self.config.max_entries_per_user:
            raise RasError(
                ErrorCode.ERROR_NOT_ENOUGH_QUOTA,
                f"a user may own at most {self.config.max_entries_per_user} entries",
            )

    # -- entries ---------------------------------------------------------------------
    def _get_entry(self, name: str) -> tuple[int, list[tuple[str, str]]]:
        return find_entry(self.store, name)

    async def list_entries(self, request: web.Request) -> web.StreamResponse:
        uid = peer(request).uid

        def build() -> list[dict[str, Any]]:
            entries, saved = self.store.snapshot_entries(uid)
            out = []
            for name, owner, lines in entries:
                body = phonebook.Entry(name, lines).to_json()
                body["owner_uid"] = owner
                body["have_password"] = name in saved
                out.append(body)
            return out

        return await send_json(request, self.gate, uid, build)

    async def create_entry(self, request: web.Request) -> web.Response:
        body = await read_json(request, EntryCreate)
        entry = _entry_from_body(check_store_name(body.name), body.lines, body.properties)
        if self.store.get_entry(entry.name) is not None:
            raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"entry {entry.name!r} exists")
        self._check_quota(peer(request).uid, [entry], 1)
        self.store.put_entry(entry.name, peer(request).uid, entry.lines)
        self.events.publish(
            EntryChanged(action="created", entry=entry.name, owner_uid=peer(request).uid)
        )
        body_out = _entry_json(
            entry.name, peer(request).uid, entry.lines, self.store, peer(request).uid
        )
        return web.json_response({**body_out, "warnings": entry_warnings(entry)}, status=201)

    async def get_entry(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        owner, lines = self._get_entry(name)
        return web.json_response(_entry_json(name, owner, lines, self.store, peer(request).uid))

    async def update_entry(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        owner, lines = self._get_entry(name)
        _may_edit(owner, peer(request).uid, self.daemon_uid)
        body = await read_json(request, EntryUpdate)
        new_name = body.name or name
        entry = _entry_from_body(
            new_name, body.lines if body.lines is not None else lines, body.properties
        )
        self._check_quota(owner, [entry], 0)
        if new_name != name:
            check_store_name(new_name)
            if self.store.get_entry(new_name) is not None:
                raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"entry {new_name!r} exists")
            self.store.rename_entry(name, new_name)
        self.store.put_entry(new_name, owner, entry.lines)
        self.events.publish(EntryChanged(action="updated", entry=new_name, old_name=name))
        body_out = _entry_json(new_name, owner, entry.lines, self.store, peer(request).uid)
        return web.json_response({**body_out, "warnings": entry_warnings(entry)})

    async def delete_entry(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        owner, _ = self._get_entry(name)
        _may_edit(owner, peer(request).uid, self.daemon_uid)
        self.store.delete_entry(name)
        self.events.publish(EntryChanged(action="deleted", entry=name))
        return web.json_response({"deleted": name})

    async def import_phonebook(self, request: web.Request) -> web.Response:
        body = await read_json(request, ImportBody)
        entries = await asyncio.to_thread(phonebook.parse, body.text, "import")
        for entry in entries:
            check_store_name(entry.name)
        uid = peer(request).uid
        existing = [e.name for e in entries if self.store.get_entry(e.name) is not None]
        if existing and not body.replace:
            raise RasError(
                ErrorCode.ERROR_ALREADY_ASSIGNED, f"entries exist: {', '.join(existing[:10])}"
            )
        for name in existing:
            _may_edit(self._get_entry(name)[0], uid, self.daemon_uid)
        self._check_quota(uid, entries, len(entries) - len(existing))
        for entry in entries:
            self.store.put_entry(entry.name, uid, entry.lines)
        self.events.publish(EntryChanged(action="imported", names=tuple(e.name for e in entries)))
        warnings = {e.name: w for e in entries if (w := entry_warnings(e))}
        return web.json_response({"imported": [e.name for e in entries], "warnings": warnings})

    async def export_phonebook(self, request: web.Request) -> web.StreamResponse:
        names = set(request.query.getall("name", []))
        uid = peer(request).uid

        def build() -> dict[str, str]:
            rows, _ = self.store.snapshot_entries(uid)
            entries = [phonebook.Entry(n, lines) for n, _, lines in rows if not names or n in names]
            return {"text": phonebook.serialize(entries)}

        return await send_json(request, self.gate, uid, build)

    # -- credentials (never returned) ------------------------------------------------------
    def _cred_key(self, request: web.Request) -> str:
        name = request.match_info["name"]
        path = request.query.get("phonebook", "")
        if not path:
            self._get_entry(name)
        return credential_key(name, path)

    async def get_credentials(self, request: web.Request) -> web.Response:
        saved = self.store.get_credentials(peer(request).uid, self._cred_key(request))
        user, password, domain = saved or ("", None, "")
        return web.json_response(
            {"user": user, "domain": domain, "have_password": password is not None}
        )

    async def put_credentials(self, request: web.Request) -> web.Response:
        key = self._cred_key(request)
        uid = peer(request).uid
        body = await read_json(request, Credentials)
        saved = self.store.get_credentials(uid, key)
        password = (
            None
            if body.remove_password
            else (body.password if body.password is not None else (saved[1] if saved else None))
        )
        if password == SAVED_PASSWORD_HANDLE and saved:
            password = saved[1]
        self.store.put_credentials(uid, key, body.user, password, body.domain)
        return web.json_response(
            {"user": body.user, "domain": body.domain, "have_password": password is not None}
        )

    # -- connections -----------------------------------------------------------------
    async def dial(self, request: web.Request) -> web.Response:
        body = await read_json(request, DialBody)
        who = peer(request)
        try:
            req = await dial_request(self.store, DialCall(**body.model_dump()), who.uid, who.pid)
            started = await self.m.dial(req)
        except RasError as exc:
            # Refused before a handle exists (623, 625, 633, 756...): no state event will say so.
            self.m.ctx.log.info(
                "dial refused: entry %r uid %d: %d %s",
                body.entry,
                who.uid,
                exc.code,
                exc.detail,
            )
            self.events.publish(
                DialRefused(entry=body.entry, uid=who.uid, error=exc.code, detail=exc.detail)
            )
            raise
        return web.json_response(
            {**dataclasses.asdict(started), "state": int(started.state)}, status=201
        )

    async def list_connections(self, request: web.Request) -> web.Response:
        """RASCONN fields by default; ``full=1``: status records; ``statistics=1``: RAS_STATS
        of each; ``phase=connected,dialing``: only those; ``form=columns``: the RASCONN view as
        columns and rows (:mod:`.ras_listing`)."""
        uid, phases = peer(request).uid, query_phases(request)
        full = query_int(request, "full", 0, 0, 1)
        statistics = query_int(request, "statistics", 0, 0, 1)
        form = query_form(request, bool(full or statistics))
        if not full and not statistics:
            body = self._rasconns.listing(self.m, uid, phases, form)
            return web.Response(body=body, content_type="application/json")
        rows = (
            [encode_record(r) for r in self.m.list(uid, phases)]
            if full
            else [encode_rasconn(c) for c in self.m.enumerate(uid, phases)]
        )
        if statistics:
            await add_statistics(self.m, rows)
        # orjson: a thousand full records are 0.7 MiB of JSON, a fifth of json.dumps's time on
        # the loop.
        body = orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS)
        return web.Response(body=body, content_type="application/json")

    async def status(self, request: web.Request) -> web.Response:
        handle = int(request.match_info["handle"])
        return web.json_response(encode_record(self.m.status(handle, peer(request).uid)))

    async def hangup(self, request: web.Request) -> web.Response:
        handle = int(request.match_info["handle"])
        who = peer(request)
        return web.json_response(dataclasses.asdict(await self.m.hangup(handle, who.uid, who.pid)))

    async def projection(self, request: web.Request) -> web.Response:
        handle = int(request.match_info["handle"])
        text = request.match_info["kind"]
        kind = int(text[2:], 16) if text.lower().startswith("0x") else int(text, 10)
        return web.json_response(encode_projection(self.m.projection(handle, kind)))

    async def statistics(self, request: web.Request) -> web.Response:
        handle = int(request.match_info["handle"])
        return web.json_response(encode_statistics(await self.m.fresh_statistics(handle)))

    # -- events ------------------------------------------------------------------------------
    def _visible(self, event: Event, uid: int) -> bool:
        """RAS events are everyone's (any user may enumerate connections); a user's network
        mappings are theirs alone; notifyee and hook diagnostics are the administrator's."""
        if is_privileged(uid):
            return True
        if isinstance(event, NetChanged | DialRefused):
            return event.uid == uid
        return event.kind not in (EventKind.NOTIFYEE, EventKind.HOOK)

    def _predicate(self, request: web.Request) -> Any:
        """The stream's filter, or None when it keeps every event (root or the daemon's user
        asking for everything: the fan-out then skips the call)."""
        uid = peer(request).uid
        handle = query_int(request, "handle", None, 1)
        kinds = {k for k in request.query.get("kinds", "").split(",") if k}
        notify = {n for n in request.query.get("notify", "").split(",") if n}
        privileged = is_privileged(uid)
        if privileged and handle is None and not kinds and not notify:
            return None

        def keep(event: Event) -> bool:
            if not privileged and not self._visible(event, uid):
                return False
            if handle is not None and getattr(event, "handle", None) != handle:
                return False
            if kinds and event.kind.value not in kinds:
                return False
            return not (notify and getattr(event, "notify", None) not in notify)

        return keep

    async def events_stream(self, request: web.Request) -> web.StreamResponse:
        since = query_int(request, "since", None, 0)
        predicate = self._predicate(request)
        return await stream_events(request, self.events, since, predicate, self.events.queue_size)

    async def events_log(self, request: web.Request) -> web.Response:
        since = query_int(request, "since", 0, 0) or 0
        limit = query_int(request, "limit", 1000, 1, 10000) or 1000
        uid = peer(request).uid
        return web.json_response(
            [encode(e) for e in self.events.logged(since, limit) if self._visible(e, uid)]
        )

    def routes(self) -> list[Route]:
        handle = {"handle": {"type": "integer", "minimum": 1, "maximum": 2**62}}
        name = {"name": {"type": "string", "minLength": 1, "maxLength": 256}}
        return [
            Route(
                "GET",
                "/v1/entries",
                self.list_entries,
                "List phonebook entries",
                tags=["phonebook"],
            ),
            Route(
                "POST",
                "/v1/entries",
                self.create_entry,
                "Create an entry",
                body=EntryCreate,
                tags=["phonebook"],
            ),
            Route(
                "GET",
                "/v1/entries/{name}",
                self.get_entry,
                "Get an entry",
                path_params=name,
                tags=["phonebook"],
            ),
            Route(
                "PATCH",
                "/v1/entries/{name}",
                self.update_entry,
                "Edit or rename an entry",
                body=EntryUpdate,
                path_params=name,
                tags=["phonebook"],
            ),
            Route(
                "DELETE",
                "/v1/entries/{name}",
                self.delete_entry,
                "Delete an entry",
                path_params=name,
                tags=["phonebook"],
            ),
            Route(
                "GET",
                "/v1/entries/{name}/credentials",
                self.get_credentials,
                "Saved user and domain (never the password)",
                path_params=name,
                query={"phonebook": {"type": "string"}},
                tags=["phonebook"],
            ),
            Route(
                "PUT",
                "/v1/entries/{name}/credentials",
                self.put_credentials,
                "Save dial credentials",
                body=Credentials,
                path_params=name,
                query={"phonebook": {"type": "string"}},
                tags=["phonebook"],
            ),
            Route(
                "POST",
                "/v1/phonebook/import",
                self.import_phonebook,
                "Import rasphone.pbk text",
                body=ImportBody,
                tags=["phonebook"],
            ),
            Route(
                "GET",
                "/v1/phonebook/export",
                self.export_phonebook,
                "Export entries as rasphone.pbk text",
                query={"name": {"type": "string"}},
                tags=["phonebook"],
            ),
            Route(
                "POST",
                "/v1/connections",
                self.dial,
                "RasDial: start a connection; returns the handle at once",
                body=DialBody,
                tags=["ras"],
            ),
            Route(
                "GET",
                "/v1/connections",
                self.list_connections,
                "RasEnumConnections: RASCONN fields (full=1: status records)",
                query=LIST_QUERY,
                tags=["ras"],
            ),
            Route(
                "GET",
                "/v1/connections/{handle}",
                self.status,
                "RasGetConnectStatus",
                path_params=handle,
                tags=["ras"],
            ),
            Route(
                "DELETE",
                "/v1/connections/{handle}",
                self.hangup,
                "RasHangUp (teardown completes asynchronously)",
                path_params=handle,
                tags=["ras"],
            ),
            Route(
                "GET",
                "/v1/connections/{handle}/projection/{kind}",
                self.projection,
                "RasGetProjectionInfo",
                path_params={
                    **handle,
                    "kind": {"type": "string", "pattern": "^(?:0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$"},
                },
                tags=["ras"],
            ),
            Route(
                "GET",
                "/v1/connections/{handle}/statistics",
                self.statistics,
                "RasGetConnectionStatistics (RAS_STATS fields; dwConnectDuration in ms)",
                path_params=handle,
                response=TypeAdapter(LinkStatistics).json_schema(),
                tags=["ras"],
            ),
            Route(
                "GET",
                "/v1/events",
                self.events_stream,
                "The ordered event stream (Server-Sent Events)",
                query={
                    "since": {"type": "integer", "minimum": 0},
                    "handle": {"type": "integer", "minimum": 1},
                    "kinds": {"type": "string"},
                    "notify": {"type": "string"},
                },
                stream=True,
                tags=["events"],
            ),
            Route(
                "GET",
                "/v1/events/log",
                self.events_log,
                "The event log (JSON)",
                query={
                    "since": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
                },
                events=True,
                tags=["events"],
            ),
        ]
