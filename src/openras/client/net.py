"""The typed MPR client: every ``/v1/net`` operation of the daemon (openras.daemon.mpr_api).

One sans-IO core serves both the synchronous and the asyncio client: :class:`NetRequests`
builds a :class:`Request` — method, path, JSON body, query and the parser of the answer —
without doing any I/O; :class:`NetClient` (over :class:`~openras.client.Client`) runs one and
has a method per operation, :class:`AsyncNetClient` (over
:class:`~openras.client.AsyncClient`) runs one with ``await``::

    with NetClient() as net:
        net.add_connection(NETRESOURCE(dwType=RESOURCETYPE_DISK, lpRemoteName=r"\\\\srv\\data",
                                       lpLocalName="Z:"))
        print(net.get_connection("Z:").remote_name)

    async with AsyncNetClient() as net:
        info = await net.run(NetRequests.get_connection("Z:"))

Results are frozen dataclasses (or plain values); failures raise
:class:`~openras.client.ApiError` with the Win32 / WN code the daemon answered. JSON exists
only in this module: ``to_json()`` on a result gives the daemon's shape back (``--json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from ..mpr.netresource import NETRESOURCE
from .api import AsyncClient, Client

T = TypeVar("T")
NET = "/v1/net"
NETRESOURCE_FIELDS = (
    "dwScope",
    "dwType",
    "dwDisplayType",
    "dwUsage",
    "lpLocalName",
    "lpRemoteName",
    "lpComment",
    "lpProvider",
)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``cls`` out of an answer (fields the daemon adds later are ignored)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


class _Result:
    def to_json(self) -> dict[str, Any]:
        """The daemon's JSON shape of this result."""
        return asdict(self)  # type: ignore[call-overload]


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotifyeeSkipped(_Result):
    """A notifyee that was skipped during an operation (insecure, raised, timed out…)."""

    notifyee: str
    path: str
    operation: str  # add / cancel
    phase: str  # pre / post
    error: str


def _reports(data: dict[str, Any]) -> tuple[NotifyeeSkipped, ...]:
    return tuple(
        NotifyeeSkipped(**_known(NotifyeeSkipped, e)) for e in data.get("notifyee_errors") or ()
    )


@dataclass(frozen=True)
class Connected(_Result):
    """WNetAddConnection2/3: what was connected (local_name is the drive picked by
    CONNECT_REDIRECT, None for a deviceless connection)."""

    local_name: str | None
    remote_name: str
    provider: str
    user: str
    mount_point: str | None
    remembered: bool
    notifyee_errors: tuple[NotifyeeSkipped, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Connected:
        return cls(**{**_known(cls, data), "notifyee_errors": _reports(data)})


@dataclass(frozen=True)
class Cancelled(_Result):
    """WNetCancelConnection2: the provider that cancelled, and whether a remembered entry was
    forgotten."""

    name: str
    provider: str | None
    forgotten: bool
    notifyee_errors: tuple[NotifyeeSkipped, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cancelled:
        return cls(**{**_known(cls, data), "notifyee_errors": _reports(data)})


@dataclass(frozen=True)
class RemoteConnection(_Result):
    """WNetGetConnection: the connection behind a local name (status OK or Disconnected)."""

    local_name: str
    remote_name: str
    provider: str
    user: str
    status: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteConnection:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class UniversalName(_Result):
    """WNetGetUniversalName: REMOTE_NAME_INFO's three strings, and the connection's local name
    and provider."""

    universal_name: str
    connection_name: str
    remaining_path: str
    local_name: str | None
    provider: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UniversalName:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Use(_Result):
    """A row of ``net use``: status OK / Disconnected (connected) or Unavailable (remembered
    only)."""

    status: str
    uid: int
    local_name: str | None
    remote_name: str
    provider: str
    user: str
    remembered: bool
    mount_point: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Use:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Uses(_Result):
    """The ``net use`` listing and the caller's /PERSISTENT default."""

    persistent: bool
    connections: tuple[Use, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Uses:
        return cls(bool(data["persistent"]), tuple(Use.from_json(r) for r in data["connections"]))


@dataclass(frozen=True)
class LastError(_Result):
    """WNetGetLastError: this client process's last provider error (0, "", "" when none)."""

    error: int
    text: str
    provider: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LastError:
        return cls(int(data["error"]), str(data["text"]), str(data["provider"]))


@dataclass(frozen=True)
class ProviderInfo(_Result):
    """A provider, in the order the router asks them."""

    name: str
    type: int
    order: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderInfo:
        return cls(**_known(cls, data))


# -- the sans-IO core ----------------------------------------------------------------------
@dataclass(frozen=True)
class Request(Generic[T]):
    """One API call, not yet made: run it with :class:`NetClient` or :class:`AsyncNetClient`."""

    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: dict[str, Any] | None = None


def netresource_json(resource: Any) -> dict[str, Any] | None:
    """A NETRESOURCE (or any object with its fields, as pywin32 code may pass) as the API's JSON."""
    if resource is None:
        return None
    return {k: getattr(resource, k) for k in NETRESOURCE_FIELDS}


def _segment(name: str) -> str:
    # Names carry "\", "/" and ":": one percent-encoded path segment.
    return quote(name, safe="")


def _flag(value: bool | int) -> str:
    return "1" if value else "0"


def _none(_: Any) -> None:
    return None


class NetRequests:
    """The requests of the ``/v1/net`` API (no I/O): one static method per operation."""

    @staticmethod
    def add_connection(
        resource: Any,
        password: str | None = None,
        user: str | None = None,
        flags: int = 0,
        owner: int | None = None,
    ) -> Request[Connected]:
        """WNetAddConnection2 (owner None) / WNetAddConnection3. Password and user: None = the
        default."""
        body = {
            "netresource": netresource_json(resource),
            "password": password,
            "user": user,
            "flags": int(flags),
            "owner": owner,
        }
        return Request("POST", f"{NET}/connections", Connected.from_json, json=body)

    @staticmethod
    def cancel_connection(
        name: str, flags: int = 0, force: bool | int = False, uid: int | None = None
    ) -> Request[Cancelled]:
        """WNetCancelConnection2: a local name, or every deviceless connection to a remote name.
        ``uid``: whose drive names (root only)."""
        params = {"flags": int(flags), "force": _flag(force), "uid": uid}
        return Request(
            "DELETE", f"{NET}/connections/{_segment(name)}", Cancelled.from_json, params=params
        )

    @staticmethod
    def get_connection(local_name: str, uid: int | None = None) -> Request[RemoteConnection]:
        """WNetGetConnection. A remembered name that is not connected: ERROR_CONNECTION_UNAVAIL."""
        return Request(
            "GET",
            f"{NET}/connections/{_segment(local_name)}",
            RemoteConnection.from_json,
            params={"uid": uid},
        )

    @staticmethod
    def universal_name(path: str, uid: int | None = None) -> Request[UniversalName]:
        """WNetGetUniversalName of a path under a drive (``Z:\\dir\\file``) or mapped directory."""
        return Request(
            "GET",
            f"{NET}/universal-name",
            UniversalName.from_json,
            params={"path": path, "uid": uid},
        )

    @staticmethod
    def resource_information(resource: Any) -> Request[tuple[NETRESOURCE, str | None]]:
        """WNetGetResourceInformation: the resource a remote name lies in, and the rest."""
        return Request(
            "POST",
            f"{NET}/resource-information",
            lambda d: (NETRESOURCE.from_json(d["netresource"]), d["system"]),
            json={"netresource": netresource_json(resource)},
        )

    @staticmethod
    def resource_parent(resource: Any) -> Request[NETRESOURCE]:
        """WNetGetResourceParent: the container one level up."""
        return Request(
            "POST",
            f"{NET}/resource-parent",
            lambda d: NETRESOURCE.from_json(d["netresource"]),
            json={"netresource": netresource_json(resource)},
        )

    @staticmethod
    def list_connections(all_users: bool = False) -> Request[Uses]:
        """What ``net use`` lists; ``all_users``: every user's (root only)."""
        return Request(
            "GET", f"{NET}/connections", Uses.from_json, params={"all": "1"} if all_users else None
        )

    @staticmethod
    def open_enum(
        scope: int, type_: int = 0, usage: int = 0, container: Any = None
    ) -> Request[int]:
        """WNetOpenEnum: the handle of a snapshot."""
        body = {
            "dwScope": int(scope),
            "dwType": int(type_),
            "dwUsage": int(usage),
            "container": netresource_json(container),
        }
        return Request("POST", f"{NET}/enum", lambda data: int(data["handle"]), json=body)

    @staticmethod
    def enum_resource(handle: int, count: int = 64) -> Request[list[NETRESOURCE]]:
        """WNetEnumResource: up to ``count`` more; ERROR_NO_MORE_ITEMS (259) at the end."""
        return Request(
            "GET",
            f"{NET}/enum/{int(handle)}",
            lambda data: [NETRESOURCE.from_json(item) for item in data["items"]],
            params={"count": int(count)},
        )

    @staticmethod
    def close_enum(handle: int) -> Request[None]:
        """WNetCloseEnum."""
        return Request("DELETE", f"{NET}/enum/{int(handle)}", _none)

    @staticmethod
    def last_error() -> Request[LastError]:
        """WNetGetLastError (per client process)."""
        return Request("GET", f"{NET}/last-error", LastError.from_json)

    @staticmethod
    def get_user(name: str | None = None, uid: int | None = None) -> Request[str]:
        """WNetGetUser: the user of a connection; without a name, the caller's login name."""
        return Request(
            "GET",
            f"{NET}/user",
            lambda data: str(data["user"]),
            params={"name": name or None, "uid": uid},
        )

    @staticmethod
    def providers() -> Request[tuple[ProviderInfo, ...]]:
        """The providers, in the order they are asked."""
        return Request(
            "GET", f"{NET}/providers", lambda data: tuple(ProviderInfo.from_json(p) for p in data)
        )

    @staticmethod
    def get_persistent() -> Request[bool]:
        """The caller's ``net use /PERSISTENT`` default."""
        return Request("GET", f"{NET}/settings", lambda data: bool(data["persistent"]))

    @staticmethod
    def set_persistent(persistent: bool) -> Request[bool]:
        """Set the caller's ``net use /PERSISTENT`` default."""
        return Request(
            "PUT",
            f"{NET}/settings",
            lambda data: bool(data["persistent"]),
            json={"persistent": bool(persistent)},
        )


# -- running requests ----------------------------------------------------------------------
class NetClient:
    """The ``/v1/net`` API, synchronously: a method per operation (see :class:`NetRequests`)."""

    def __init__(self, client: Client | None = None) -> None:
        self._own = client is None
        self.client = client if client is not None else Client()

    def run(self, request: Request[T]) -> T:
        return request.parse(
            self.client.call(request.method, request.path, json=request.json, params=request.params)
        )

    def add_connection(
        self,
        resource: Any,
        password: str | None = None,
        user: str | None = None,
        flags: int = 0,
        owner: int | None = None,
    ) -> Connected:
        return self.run(NetRequests.add_connection(resource, password, user, flags, owner))

    def cancel_connection(
        self, name: str, flags: int = 0, force: bool | int = False, uid: int | None = None
    ) -> Cancelled:
        return self.run(NetRequests.cancel_connection(name, flags, force, uid))

    def get_connection(self, local_name: str, uid: int | None = None) -> RemoteConnection:
        return self.run(NetRequests.get_connection(local_name, uid))

    def universal_name(self, path: str, uid: int | None = None) -> UniversalName:
        return self.run(NetRequests.universal_name(path, uid))

    def list_connections(self, all_users: bool = False) -> Uses:
        return self.run(NetRequests.list_connections(all_users))

    def open_enum(self, scope: int, type_: int = 0, usage: int = 0, container: Any = None) -> int:
        return self.run(NetRequests.open_enum(scope, type_, usage, container))

    def enum_resource(self, handle: int, count: int = 64) -> list[NETRESOURCE]:
        return self.run(NetRequests.enum_resource(handle, count))

    def close_enum(self, handle: int) -> None:
        self.run(NetRequests.close_enum(handle))

    def last_error(self) -> LastError:
        return self.run(NetRequests.last_error())

    def get_user(self, name: str | None = None, uid: int | None = None) -> str:
        return self.run(NetRequests.get_user(name, uid))

    def providers(self) -> tuple[ProviderInfo, ...]:
        return self.run(NetRequests.providers())

    def get_persistent(self) -> bool:
        return self.run(NetRequests.get_persistent())

    def set_persistent(self, persistent: bool) -> bool:
        return self.run(NetRequests.set_persistent(persistent))

    def close(self) -> None:
        """Close the underlying client if this object made it."""
        if self._own:
            self.client.close()

    def __enter__(self) -> NetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncNetClient:
    """The ``/v1/net`` API for asyncio: ``await net.run(NetRequests.<operation>(...))``."""

    def __init__(self, client: AsyncClient | None = None) -> None:
        self._own = client is None
        self.client = client if client is not None else AsyncClient()

    async def run(self, request: Request[T]) -> T:
        return request.parse(
            await self.client.call(
                request.method, request.path, json=request.json, params=request.params
            )
        )

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()

    async def __aenter__(self) -> AsyncNetClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
