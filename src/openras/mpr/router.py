"""The Multiple Provider Router: WNet connections through providers (reference/mpr.md §3–§6).

Local names (``X:`` drives per user, directory mount points, none for a deviceless
connection) are described in :mod:`openras.mpr.localnames`; with CONNECT_REDIRECT and no
local name a free drive is picked from Z: downwards. Enumeration is
:mod:`openras.mpr.enumeration`.

What the router rejects itself, it rejects before any notifyee is called (reference/mpr.md
§1: "a request the MPR rejects itself notifies nobody"): bad parameters (87), a print type
(66), an unknown lpProvider (1204), a bad local name (1200), a directory the caller may not
use (5), a local name in use (85), a local name remembered for another remote name (1202) —
as Windows' MPR answers when ``net use Z: …`` meets a remembered, unavailable Z: — and a
cancel of a name that is neither connected nor remembered (2250).

Visibility. A user sees, queries and cancels their own connections; root sees all. Drive
names resolve in one user's drives (the caller's; root may name another uid).

WNetGetLastError. Windows keeps the provider's extended error per thread. Here it is kept
per client process: the (uid, pid) from the caller's SO_PEERCRED, for the last provider
failure of that process's requests (bounded to the 1024 most recent processes).

Nothing here blocks the event loop: file-system work (local names, the drives directory)
and NSS look-ups run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..codes import WN, ErrorCode, RasError, error_string
from ..events import EventBus, NetChanged
from ..timeouts import within
from ..users import login_name
from .browse import browse
from .enumeration import Enumerations, snapshot
from .live import LiveMappings, LiveRow
from .localnames import (
    MAX_NAME,
    REDIRECT_DRIVES,
    DrivesDirectory,
    is_drive,
    is_local_name,
    local_key,
    lookup_local,
    resolve_local,
)
from .netresource import (
    CONNECT_REDIRECT,
    CONNECT_UPDATE_PROFILE,
    CONNECT_VALID_FLAGS,
    NETRESOURCE,
    NOTIFY_PRE,
    RESOURCE_CONNECTED,
    RESOURCE_GLOBALNET,
    RESOURCEDISPLAYTYPE_SHARE,
    RESOURCETYPE_ANY,
    RESOURCETYPE_DISK,
    RESOURCETYPE_PRINT,
    RESOURCEUSAGE_CONNECTABLE,
)
from .notifyees import NOTIFYADD, NOTIFYCANCEL, Notifyees, Outcome
from .providers.base import ConnectRequest, Credential, Provider, ProviderConnection
from .remembered import Remembered, RememberedEntry
from .resources import information, parent
from .resources import owner as resource_owner
from .universal import split_drive, under, universal

# Answers by which a provider says "not mine": the router asks the next one (§6).
DECLINES = frozenset(
    {
        WN.WN_BAD_NETNAME,
        WN.WN_NO_NETWORK,
        WN.WN_NOT_SUPPORTED,
        WN.WN_BAD_LOCALNAME,
        WN.WN_NOT_CONNECTED,
    }
)
MAX_LAST_ERRORS = 1024


@dataclass(frozen=True)
class Caller:
    uid: int
    pid: int = 0

    @property
    def is_root(self) -> bool:
        return self.uid == 0


class MprError(RasError):
    """A WNet failure that went through the notifyees: carries what they reported."""

    def __init__(
        self,
        code: int,
        detail: str = "",
        notifyee_errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code, detail)
        self.notifyee_errors = notifyee_errors or []
        self.extra = extra


@dataclass
class Connection:
    id: int
    uid: int
    local_name: str | None  # "Z:", a real directory path, or None (deviceless)
    remote_name: str
    provider: str
    user: str
    type: int
    conn: ProviderConnection = field(repr=False)
    mount_point: Path | None
    created: float = field(default_factory=time.time)
    closing: bool = False
    # Kept (never shown) so that browsing this connection's server can reuse it.
    password: str | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[Any, ...] | None:
        return local_key(self.uid, self.local_name) if self.local_name else None

    def netresource(self, scope: int) -> NETRESOURCE:
        return NETRESOURCE(
            scope,
            RESOURCETYPE_DISK,
            RESOURCEDISPLAYTYPE_SHARE,
            RESOURCEUSAGE_CONNECTABLE,
            self.local_name,
            self.remote_name,
            None,
            self.provider,
        )


def same_remote(a: str, b: str) -> bool:
    # Server and share names are case-insensitive in UNC; URLs are compared as written.
    return a == b or (a.startswith("\\\\") and a.casefold() == b.casefold())


def _check_text(value: str | None, what: str, required: bool = False) -> None:
    if value is None or value == "":
        if required:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"{what} is required")
        return
    if not isinstance(value, str) or "\0" in value or len(value) > MAX_NAME:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"bad {what}")


class Router:
    def __init__(
        self,
        providers: Iterable[Provider],
        *,
        remembered: Remembered,
        notifyees: Notifyees,
        drives_dir: Path,
        events: EventBus | None = None,
        log: logging.Logger | None = None,
        provider_options: dict[str, dict[str, Any]] | None = None,
        connect_timeout: float = 60.0,
    ) -> None:
        self.set_providers(providers)
        self.remembered = remembered
        self.notifyees = notifyees
        self.drives_dir = drives_dir
        self.drives = DrivesDirectory(drives_dir)
        self.events = events
        self.log = log or logging.getLogger("openras.mpr")
        self.provider_options = provider_options or {}
        self.connect_timeout = connect_timeout
        self.connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        # Mappings a killed daemon held: their owners hear they were lost.
        self.live = LiveMappings(remembered.store)
        for row in self.live.take_all():
            if events is not None:
                events.publish(
                    NetChanged(
                        action="lost",
                        uid=row.uid,
                        local_name=row.local_name,
                        remote_name=row.remote_name,
                        provider=row.provider,
                        forced=True,
                    )
                )
        self._reserved: set[tuple[Any, ...]] = set()  # local names with an add in progress
        self.enums = Enumerations()
        self._last_errors: OrderedDict[tuple[int, int], tuple[int, str, str]] = OrderedDict()

    def set_providers(self, providers: Iterable[Provider]) -> None:
        """The providers, in the order they are asked (ProviderOrder)."""
        self.providers = list(providers)
        self.by_name = {p.name.casefold(): p for p in self.providers}

    # -- helpers ---------------------------------------------------------------------------
    def _publish(self, action: str, c: Connection | RememberedEntry, **extra: Any) -> None:
        if self.events is not None:
            self.events.publish(
                NetChanged(
                    action=action,
                    uid=c.uid,
                    local_name=c.local_name,
                    remote_name=c.remote_name,
                    provider=c.provider,
                    **extra,
                )
            )

    def _visible(self, c: Connection | RememberedEntry, caller: Caller) -> bool:
        return caller.is_root or c.uid == caller.uid

    def _in_use(self, key: tuple[Any, ...]) -> bool:
        return key in self._reserved or any(c.key == key for c in self.connections.values())

    def _set_last_error(self, caller: Caller, code: int, text: str, provider: str) -> None:
        self._last_errors[(caller.uid, caller.pid)] = (code, text, provider)
        self._last_errors.move_to_end((caller.uid, caller.pid))
        while len(self._last_errors) > MAX_LAST_ERRORS:
            self._last_errors.popitem(last=False)

    def _options(self, p: Provider) -> dict[str, Any]:
        short = p.name.split()[-1].lower()  # "openras SMB" -> [mpr.smb]
        options = self.provider_options.get(p.name) or self.provider_options.get(short) or {}
        return dict(options) if isinstance(options, dict) else {}

    def _free_drive(self, uid: int) -> str:
        for name in REDIRECT_DRIVES:
            if not self._in_use(("drive", uid, name)) and self.remembered.get(uid, name) is None:
                return name
        raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, "no free drive name")

    async def _make_drive_dir(self, uid: int, drive: str) -> Path:
        return await asyncio.to_thread(self.drives.make, uid, drive)

    async def _remove_drive_dir(self, uid: int, local: str | None) -> None:
        if local and is_drive(local):
            await asyncio.to_thread(self.drives.remove, uid, local)

    # -- the provider walk (§6) --------------------------------------------------------------
    async def _connect(
        self,
        caller: Caller,
        uid: int,
        remote: str,
        user: str | None,
        password: str | None,
        mount_point: Path | None,
        only: str | None,
    ) -> ProviderConnection:
        providers = [self.by_name[only.casefold()]] if only else self.providers
        if not providers:
            raise RasError(ErrorCode.ERROR_NO_NETWORK, "no network provider is configured")
        declined: list[tuple[int, str, str]] = []
        for p in providers:
            request = ConnectRequest(
                remote_name=remote,
                user=user,
                password=password,
                mount_point=mount_point,
                owner_uid=uid,
                options=self._options(p),
            )
            try:
                return await within(p.connect(request), self.connect_timeout)
            except RasError as exc:
                failure = (
                    exc.extended or exc.code,
                    exc.detail or error_string(exc.code, "en"),
                    p.name,
                )
                if exc.code not in DECLINES or len(providers) == 1:
                    self._set_last_error(caller, *failure)
                    raise RasError(exc.code, exc.detail) from None
                declined.append((exc.code, failure[1], p.name))
            except TimeoutError:
                declined.append(
                    (ErrorCode.ERROR_NO_NETWORK, f"no answer in {self.connect_timeout:g} s", p.name)
                )
                if len(providers) == 1:
                    self._set_last_error(caller, *declined[-1])
                    raise RasError(ErrorCode.ERROR_NO_NETWORK, declined[-1][1]) from None
            except Exception as exc:
                # A provider bug: the caller sees ERROR_EXTENDED_ERROR, WNetGetLastError the text.
                self.log.exception("provider %s failed on %r", p.name, remote)
                self._set_last_error(
                    caller, ErrorCode.ERROR_EXTENDED_ERROR, f"{type(exc).__name__}: {exc}", p.name
                )
                raise RasError(
                    ErrorCode.ERROR_EXTENDED_ERROR, f"{p.name}: {type(exc).__name__}"
                ) from None
        codes = {code for code, _, _ in declined}
        code = (
            ErrorCode.ERROR_BAD_NET_NAME
            if codes == {ErrorCode.ERROR_BAD_NET_NAME}
            else ErrorCode.ERROR_NO_NETWORK
            if codes == {ErrorCode.ERROR_NO_NETWORK}
            else ErrorCode.ERROR_NO_NET_OR_BAD_PATH
        )
        # The most telling refusal: the first that is not a plain "not my name".
        best = next((d for d in declined if d[0] != ErrorCode.ERROR_BAD_NET_NAME), declined[0])
        self._set_last_error(caller, *best)
        raise RasError(code, "; ".join(f"{name}: {text}" for _, text, name in declined))

    # -- WNetAddConnection / 2 / 3 ---------------------------------------------------------------
    async def add_connection(
        self,
        caller: Caller,
        netresource: NETRESOURCE,
        password: str | None = None,
        user: str | None = None,
        flags: int = 0,
        owner: int | None = None,
    ) -> dict[str, Any]:
        """WNetAddConnection2 (owner None) / WNetAddConnection3. The result's fields or MprError."""
        nr = replace(netresource)
        _check_text(nr.lpRemoteName, "lpRemoteName", required=True)
        _check_text(nr.lpLocalName, "lpLocalName")
        _check_text(nr.lpProvider, "lpProvider")
        _check_text(user, "user name")
        if password is not None and ("\0" in password or len(password) > MAX_NAME):
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "bad password")
        if not isinstance(flags, int) or flags & ~CONNECT_VALID_FLAGS or flags < 0:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"unknown flags {flags:#x}")
        if nr.dwType == RESOURCETYPE_PRINT:
            raise RasError(ErrorCode.ERROR_BAD_DEV_TYPE, "no provider here connects printers")
        if nr.dwType not in (RESOURCETYPE_ANY, RESOURCETYPE_DISK):
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"dwType {nr.dwType}")
        if nr.lpProvider and nr.lpProvider.casefold() not in self.by_name:
            raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"no provider named {nr.lpProvider!r}")
        remote = nr.lpRemoteName or ""
        local: str | None = None
        if nr.lpLocalName:
            local = await asyncio.to_thread(
                resolve_local, nr.lpLocalName, None if caller.is_root else caller.uid
            )
        elif flags & CONNECT_REDIRECT:
            local = self._free_drive(caller.uid)
        key = local_key(caller.uid, local) if local else None
        if key is not None:
            if self._in_use(key):
                raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{local} is already in use")
            remembered = self.remembered.get(caller.uid, local or "")
            if remembered is not None and not same_remote(remembered.remote_name, remote):
                raise RasError(
                    ErrorCode.ERROR_DEVICE_ALREADY_REMEMBERED,
                    f"{local} is remembered for {remembered.remote_name}",
                )
            self._reserved.add(key)
        nr.lpLocalName = local
        result: dict[str, Any] = {}

        async def attempt() -> int:
            try:
                made = await self._add_once(caller, nr, password, user, flags, local)
            except RasError as exc:
                result["detail"] = exc.detail
                return exc.code
            except Exception as exc:
                self.log.exception("add %s failed", nr.lpRemoteName)
                result["detail"] = f"{type(exc).__name__}: {exc}"
                return ErrorCode.ERROR_EXTENDED_ERROR
            result.update(made)
            return WN.WN_SUCCESS

        def payload(status: int) -> NOTIFYADD:
            return NOTIFYADD(owner, replace(nr), flags)

        try:
            outcome = await self.notifyees.run("add", payload, attempt, (caller.uid, caller.pid))
        finally:
            if key is not None:
                self._reserved.discard(key)
        return self._finish(outcome, result)

    def _finish(self, outcome: Outcome, result: dict[str, Any]) -> dict[str, Any]:
        errs = [e.to_json() for e in outcome.errors]
        if outcome.status != WN.WN_SUCCESS:
            raise MprError(outcome.status, result.get("detail", ""), errs)
        result.pop("detail", None)
        result["notifyee_errors"] = errs
        return result

    async def _add_once(
        self,
        caller: Caller,
        nr: NETRESOURCE,
        password: str | None,
        user: str | None,
        flags: int,
        local: str | None,
    ) -> dict[str, Any]:
        remote = nr.lpRemoteName or ""
        if local is None:
            # Windows keeps one use per remote name and user: a second deviceless add reuses it.
            for c in self.connections.values():
                if (
                    c.uid == caller.uid
                    and c.local_name is None
                    and same_remote(c.remote_name, remote)
                    and not c.closing
                    and (nr.lpProvider is None or c.provider == nr.lpProvider)
                ):
                    if user and user != c.user:
                        raise RasError(
                            ErrorCode.ERROR_SESSION_CREDENTIAL_CONFLICT,
                            f"{remote} is already used as {c.user}",
                        )
                    return self._describe(c, remembered=False)
        mount_point = (
            await self._make_drive_dir(caller.uid, local)
            if local and is_drive(local)
            else (Path(local) if local else None)
        )
        try:
            pc = await self._connect(
                caller, caller.uid, remote, user, password, mount_point, nr.lpProvider
            )
        except BaseException:
            await self._remove_drive_dir(caller.uid, local)
            raise
        c = Connection(
            next(self._ids),
            caller.uid,
            local,
            remote,
            pc.provider,
            pc.user,
            RESOURCETYPE_DISK,
            pc,
            pc.mount_point,
            password=password,
        )
        self.connections[c.id] = c
        self.live.add(c.id, LiveRow(c.uid, c.local_name, c.remote_name, c.provider))
        remembered = False
        if local is not None and flags & CONNECT_UPDATE_PROFILE:
            self.remembered.put(
                RememberedEntry(
                    caller.uid, local, remote, c.user, c.provider, RESOURCETYPE_DISK, password
                )
            )
            remembered = True
        elif local is not None:
            remembered = self.remembered.get(caller.uid, local) is not None
        self._publish("connected", c)
        self.log.info(
            "uid %d connected %s%s via %s as %s",
            c.uid,
            remote,
            f" on {local}" if local else "",
            c.provider,
            c.user,
        )
        return self._describe(c, remembered)

    @staticmethod
    def _describe(c: Connection, remembered: bool) -> dict[str, Any]:
        return {
            "local_name": c.local_name,
            "remote_name": c.remote_name,
            "provider": c.provider,
            "user": c.user,
            "mount_point": str(c.mount_point) if c.mount_point else None,
            "remembered": remembered,
        }

    # -- WNetCancelConnection / 2 --------------------------------------------------------------
    async def cancel_connection(
        self, caller: Caller, name: str, flags: int = 0, force: bool = False, uid: int | None = None
    ) -> dict[str, Any]:
        """WNetCancelConnection2. ``uid``: whose drive names (root only; default the caller's)."""
        _check_text(name, "lpName", required=True)
        if not isinstance(flags, int) or flags & ~CONNECT_VALID_FLAGS or flags < 0:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"unknown flags {flags:#x}")
        owner = self._drive_owner(caller, uid)
        targets: list[Connection]
        entry: RememberedEntry | None = None
        if is_local_name(name):
            local = await asyncio.to_thread(lookup_local, name)
            key = local_key(owner, local)
            targets = [
                c
                for c in self.connections.values()
                if c.key == key and not c.closing and self._visible(c, caller)
            ]
            entry_uid = targets[0].uid if targets else owner
            entry = self.remembered.get(entry_uid, local)
            if not targets and (entry is None or not flags & CONNECT_UPDATE_PROFILE):
                raise RasError(ErrorCode.ERROR_NOT_CONNECTED, f"{name} is not connected")
        else:
            targets = [
                c
                for c in self.connections.values()
                if c.local_name is None
                and same_remote(c.remote_name, name)
                and not c.closing
                and self._visible(c, caller)
            ]
            if not targets:
                raise RasError(ErrorCode.ERROR_NOT_CONNECTED, f"no deviceless connection to {name}")
        for c in targets:
            c.closing = True
        result: dict[str, Any] = {"name": name, "provider": None, "forgotten": False}

        async def attempt() -> int:
            for c in list(targets):
                try:
                    if not force and await c.conn.open_files():
                        raise RasError(
                            ErrorCode.ERROR_OPEN_FILES,
                            f"{c.local_name or c.remote_name} has open files",
                        )
                    await c.conn.close(force)
                except RasError as exc:
                    result["detail"] = exc.detail
                    self._set_last_error(caller, exc.extended or exc.code, exc.detail, c.provider)
                    return exc.code
                except Exception as exc:
                    self.log.exception("provider %s failed to close %r", c.provider, c.remote_name)
                    result["detail"] = f"{type(exc).__name__}"
                    self._set_last_error(
                        caller,
                        ErrorCode.ERROR_EXTENDED_ERROR,
                        f"{type(exc).__name__}: {exc}",
                        c.provider,
                    )
                    return ErrorCode.ERROR_EXTENDED_ERROR
                targets.remove(c)
                self.connections.pop(c.id, None)
                self.live.remove(c.id)
                await self._remove_drive_dir(c.uid, c.local_name)
                result["provider"] = c.provider
                self._publish("disconnected", c, forced=force)
            if entry is not None and flags & CONNECT_UPDATE_PROFILE:
                result["forgotten"] = self.remembered.forget(entry.uid, entry.local_name)
                result["provider"] = result["provider"] or entry.provider
                if result["forgotten"]:
                    self._publish("forgotten", entry)
            return WN.WN_SUCCESS

        def payload(status: int) -> NOTIFYCANCEL:
            # lpProvider is undefined in the pre call; after the cancel, the provider that did it.
            return NOTIFYCANCEL(
                name, None if status == NOTIFY_PRE else result["provider"], flags, bool(force)
            )

        try:
            outcome = await self.notifyees.run("cancel", payload, attempt, (caller.uid, caller.pid))
        finally:
            for c in targets:
                c.closing = False
        return self._finish(outcome, result)

    def _drive_owner(self, caller: Caller, uid: int | None) -> int:
        if uid is None or uid == caller.uid:
            return caller.uid
        if not caller.is_root:
            raise RasError(
                ErrorCode.ERROR_ACCESS_DENIED, "only root may name another user's drives"
            )
        return uid

    # -- queries -----------------------------------------------------------------------------
    async def get_connection(
        self, caller: Caller, local: str, uid: int | None = None
    ) -> dict[str, Any]:
        """WNetGetConnection: the remote name behind a local name (``Z:\\dir\\file`` names Z:)."""
        drive = split_drive(local or "")
        local = drive[0] if drive else local
        if not local or "\0" in local or not is_local_name(local):
            raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{local!r} is not a local device name")
        owner = self._drive_owner(caller, uid)
        name = await asyncio.to_thread(lookup_local, local)
        key = local_key(owner, name)
        for c in self.connections.values():
            if c.key == key and self._visible(c, caller):
                return {
                    "local_name": name,
                    "remote_name": c.remote_name,
                    "provider": c.provider,
                    "user": c.user,
                    "status": "OK" if c.conn.alive else "Disconnected",
                }
        candidates = (
            [self.remembered.get(owner, name)]
            if is_drive(name)
            else [
                e
                for e in self.remembered.list(None if caller.is_root else caller.uid)
                if e.local_name == name
            ]
        )
        entry = next((e for e in candidates if e is not None), None)
        if entry is not None:
            raise MprError(
                ErrorCode.ERROR_CONNECTION_UNAVAIL,
                f"{name} is remembered for {entry.remote_name}",
                remote_name=entry.remote_name,
                provider=entry.provider,
            )
        raise RasError(ErrorCode.ERROR_NOT_CONNECTED, f"{name} is not connected")

    async def universal_name(
        self, caller: Caller, path: str, uid: int | None = None
    ) -> dict[str, Any]:
        """WNetGetUniversalName: the remote form of a path under a drive or mapped directory."""
        if not path or "\0" in path or len(path) > MAX_NAME:
            raise RasError(ErrorCode.ERROR_BAD_DEVICE, "no local path")
        owner = self._drive_owner(caller, uid)
        drive = split_drive(path)
        best: tuple[Connection, tuple[str, ...]] | None = None
        if drive is not None:
            key = local_key(owner, drive[0])
            best = next(
                ((c, drive[1]) for c in self.connections.values() if c.key == key),
                None,
            )
        elif path.startswith("/"):
            depth = -1
            for c in self.connections.values():
                if not c.local_name or not self._visible(c, caller):
                    continue
                where = (
                    str(self.drives.path(c.uid, c.local_name))
                    if is_drive(c.local_name)
                    else c.local_name
                )
                rest = under(path, where)
                if rest is not None and len(where) > depth:
                    best, depth = (c, rest), len(where)
        else:
            raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path!r} is not a local path")
        if best is None:
            if drive is not None and (entry := self.remembered.get(owner, drive[0])) is not None:
                raise MprError(
                    ErrorCode.ERROR_CONNECTION_UNAVAIL,
                    f"{drive[0]} is remembered for {entry.remote_name}",
                    remote_name=entry.remote_name,
                    provider=entry.provider,
                )
            raise RasError(ErrorCode.ERROR_NOT_CONNECTED, f"{path} is not on a network name")
        c, rest = best
        name = universal(c.remote_name, rest)
        return {
            "universal_name": name.universal_name,
            "connection_name": name.connection_name,
            "remaining_path": name.remaining_path,
            "local_name": c.local_name,
            "provider": c.provider,
        }

    def list_connections(self, caller: Caller, all_users: bool = False) -> list[dict[str, Any]]:
        """``net use``: connections (OK / Disconnected) and remembered ones not connected
        (Unavailable)."""

        def mine(uid: int) -> bool:
            return uid == caller.uid or (all_users and caller.is_root)

        rows = []
        connected = set()
        for c in self.connections.values():
            if not mine(c.uid):
                continue
            remembered = (
                c.local_name is not None and self.remembered.get(c.uid, c.local_name) is not None
            )
            if c.local_name:
                connected.add((c.uid, c.local_name))
            rows.append(
                {
                    "status": "OK" if c.conn.alive else "Disconnected",
                    "uid": c.uid,
                    "local_name": c.local_name,
                    "remote_name": c.remote_name,
                    "provider": c.provider,
                    "user": c.user,
                    "remembered": remembered,
                    "mount_point": str(c.mount_point) if c.mount_point else None,
                }
            )
        for e in self.remembered.list(None if all_users and caller.is_root else caller.uid):
            if (e.uid, e.local_name) not in connected:
                rows.append(
                    {
                        "status": "Unavailable",
                        "uid": e.uid,
                        "local_name": e.local_name,
                        "remote_name": e.remote_name,
                        "provider": e.provider,
                        "user": e.user,
                        "remembered": True,
                        "mount_point": None,
                    }
                )
        rows.sort(
            key=lambda r: (
                r["uid"],
                r["local_name"] is None,
                r["local_name"] or "",
                r["remote_name"],
            )
        )
        return rows

    def last_error(self, caller: Caller) -> tuple[int, str, str]:
        """WNetGetLastError: (code, text, provider) of this client process's last provider
        failure."""
        return self._last_errors.get((caller.uid, caller.pid), (ErrorCode.NO_ERROR, "", ""))

    async def get_user(
        self, caller: Caller, name: str | None = None, uid: int | None = None
    ) -> str:
        """WNetGetUser: the user a connection was made as; without a name, the caller's own
        login name (its uid when it has none)."""
        if not name:
            return await asyncio.to_thread(login_name, caller.uid) or str(caller.uid)
        _check_text(name, "name")
        if is_local_name(name):
            owner = self._drive_owner(caller, uid)
            local = await asyncio.to_thread(lookup_local, name)
            key = local_key(owner, local)
            for c in self.connections.values():
                if c.key == key and self._visible(c, caller):
                    return c.user
            entry = self.remembered.get(owner, local)
            if entry is not None and entry.user:
                return entry.user
        else:
            for c in self.connections.values():
                if same_remote(c.remote_name, name) and c.uid == caller.uid:
                    return c.user
        raise RasError(ErrorCode.ERROR_NOT_CONNECTED, f"{name} is not connected")

    # -- enumeration (§5) ----------------------------------------------------------------------
    async def open_enum(
        self,
        caller: Caller,
        scope: int,
        type_: int = RESOURCETYPE_ANY,
        usage: int = 0,
        container: NETRESOURCE | None = None,
    ) -> int:
        """WNetOpenEnum: a snapshot taken now, read with :meth:`enum_resource`. A GLOBALNET
        container below the root is browsed first (openras.mpr.browse)."""
        children = None
        if (
            scope == RESOURCE_GLOBALNET
            and container
            and (container.lpRemoteName or container.lpProvider)
        ):
            _check_text(container.lpRemoteName, "lpRemoteName")
            _check_text(container.lpProvider, "lpProvider")
            mine = [c for c in self.connections.values() if c.uid == caller.uid]
            children = await browse(
                container,
                self.providers,
                owner_uid=caller.uid,
                remote_names=lambda p: (
                    [c.remote_name for c in mine if c.provider == p.name]
                    + [
                        e.remote_name
                        for e in self.remembered.list(caller.uid)
                        if e.provider == p.name
                    ]
                ),
                credentials=lambda p: tuple(
                    Credential(c.remote_name, c.user, c.password)
                    for c in mine
                    if c.provider == p.name
                ),
                options=self._options,
                limit=self.connect_timeout,
            )
        items = snapshot(
            scope,
            type_,
            usage,
            container,
            connected=lambda: [
                c.netresource(RESOURCE_CONNECTED) for c in self._sorted_connections(caller)
            ],
            remembered=lambda: self.remembered.list(None if caller.is_root else caller.uid),
            providers=self.providers,
            children=children,
        )
        return self.enums.open(caller.uid, items)

    def resource_information(self, resource: NETRESOURCE) -> tuple[NETRESOURCE, str | None]:
        """WNetGetResourceInformation (openras.mpr.resources): the resource and the rest."""
        p = resource_owner(self.providers, resource.lpRemoteName, resource.lpProvider)
        return information(p, resource.lpRemoteName or "")

    def resource_parent(self, resource: NETRESOURCE) -> NETRESOURCE:
        """WNetGetResourceParent (openras.mpr.resources)."""
        p = resource_owner(self.providers, resource.lpRemoteName, resource.lpProvider)
        return parent(p, resource.lpRemoteName or "")

    def _sorted_connections(self, caller: Caller) -> list[Connection]:
        return sorted(
            (c for c in self.connections.values() if self._visible(c, caller)),
            key=lambda c: (c.uid, c.local_name is None, c.local_name or "", c.id),
        )

    def enum_resource(self, caller: Caller, handle: int, count: int) -> list[NETRESOURCE]:
        """WNetEnumResource: up to ``count`` more items; ERROR_NO_MORE_ITEMS at the end."""
        return self.enums.read(caller.uid, handle, count)

    def close_enum(self, caller: Caller, handle: int) -> None:
        """WNetCloseEnum."""
        self.enums.close(caller.uid, handle)

    # -- remembered connections at start, everything at stop -----------------------------------
    async def _clear_stale_drives(self) -> None:
        """Lazily unmount what a killed daemon left mounted under the drives directory (only
        ours live there), so remembered drives can be mounted again."""
        from .mount import FUSERMOUNT, mount_points

        prefix = str(self.drives_dir) + os.sep
        for mp in sorted(m for m in await asyncio.to_thread(mount_points) if m.startswith(prefix)):
            self.log.warning("unmounting stale drive mount %s", mp)
            with contextlib.suppress(OSError):
                proc = await asyncio.create_subprocess_exec(
                    FUSERMOUNT,
                    "-u",
                    "-z",
                    "--",
                    mp,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await proc.wait()

    async def restore(self) -> list[dict[str, Any]]:
        """Reconnect every remembered connection — through its own provider, with no notifyee."""
        await self._clear_stale_drives()
        entries = [
            e for e in self.remembered.list() if not self._in_use(local_key(e.uid, e.local_name))
        ]
        return list(await asyncio.gather(*(self._restore_one(e) for e in entries)))

    async def _restore_one(self, e: RememberedEntry) -> dict[str, Any]:
        key = local_key(e.uid, e.local_name)
        self._reserved.add(key)
        caller = Caller(e.uid, 0)
        try:
            if e.provider.casefold() not in self.by_name:
                raise RasError(
                    ErrorCode.ERROR_BAD_PROVIDER, f"provider {e.provider!r} is not loaded"
                )
            mount_point = (
                await self._make_drive_dir(e.uid, e.local_name)
                if is_drive(e.local_name)
                else (Path(e.local_name))
            )
            try:
                pc = await self._connect(
                    caller, e.uid, e.remote_name, e.user, e.password, mount_point, e.provider
                )
            except BaseException:
                await self._remove_drive_dir(e.uid, e.local_name)
                raise
        except Exception as exc:
            code = exc.code if isinstance(exc, RasError) else ErrorCode.ERROR_EXTENDED_ERROR
            self.log.warning(
                "remembered %s -> %s (uid %d) not restored: %s",
                e.local_name,
                e.remote_name,
                e.uid,
                exc,
            )
            return {"local_name": e.local_name, "uid": e.uid, "error": code}
        finally:
            self._reserved.discard(key)
        c = Connection(
            next(self._ids),
            e.uid,
            e.local_name,
            e.remote_name,
            pc.provider,
            pc.user,
            e.type,
            pc,
            pc.mount_point,
            password=e.password,
        )
        self.connections[c.id] = c
        self.live.add(c.id, LiveRow(c.uid, c.local_name, c.remote_name, c.provider))
        self._publish("restored", c)
        self.log.info("restored %s -> %s (uid %d)", e.local_name, e.remote_name, e.uid)
        return {"local_name": e.local_name, "uid": e.uid, "error": 0}

    async def close_all(self) -> None:
        """Daemon shutdown: every connection closed, forced, without notifyees; remembered kept."""
        conns = list(self.connections.values())
        self.connections.clear()
        self.live.clear()

        async def close(c: Connection) -> None:
            try:
                await within(c.conn.close(True), self.connect_timeout)
            except Exception as exc:
                self.log.warning("closing %s at shutdown: %s", c.remote_name, exc)
            await self._remove_drive_dir(c.uid, c.local_name)

        await asyncio.gather(*(close(c) for c in conns))
