"""pywin32's ``win32wnet`` on openras: Windows WNet code runs unchanged.

Signatures follow pywin32 (reference/mpr.md §8); failures raise :class:`error`, shaped like
``pywintypes.error``: ``(winerror, funcname, strerror)``. Every call goes to the daemon
(through :mod:`openras.client.net`), which owns the connections, so they outlive this
process, as on Windows.

WNetGetLastError answers for this process: the daemon keeps the last provider error per
client process (uid and pid from the socket's peer credentials).
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, TypeVar

from . import pywintypes
from .client import ApiError
from .client.net import NetClient, NetRequests, Request
from .codes import ErrorCode, error_string
from .i18n import translate
from .mpr.netresource import *  # noqa: F403 - the constants, as pywin32 exports them
from .mpr.netresource import (
    CONNECT_UPDATE_PROFILE,
    NETRESOURCE,
    REMOTE_NAME_INFO_LEVEL,
    RESOURCETYPE_DISK,
    UNIVERSAL_NAME_INFO_LEVEL,
)
from .ncb import NCB, NCBBuffer, Netbios  # noqa: F401 - pywin32 exports them here

error = pywintypes.error  # pywin32: both modules raise pywintypes.error
T = TypeVar("T")


class PyHANDLE(int):
    """An enumeration handle (pywin32 returns a PyHANDLE)."""

    @property
    def handle(self) -> int:
        return int(self)

    def Close(self) -> None:
        WNetCloseEnum(self)


_lock = threading.Lock()
_client: NetClient | None = None  # one per process, made on first use


def _call(func: str, request: Request[T]) -> T:
    global _client
    with _lock:
        if _client is None:
            _client = NetClient()
        net = _client
    try:
        return net.run(request)
    except ApiError as exc:
        raise error(exc.code, func, error_string(exc.code)) from None


def _add(
    func: str,
    resource: NETRESOURCE,
    password: str | None,
    user: str | None,
    flags: int,
    owner: int | None,
) -> None:
    _call(func, NetRequests.add_connection(resource, password, user, flags, owner))


_ADD2 = inspect.Signature(
    [
        inspect.Parameter("NetResource", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("Password", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        inspect.Parameter("UserName", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        inspect.Parameter("Flags", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=0),
    ]
)


def WNetAddConnection2(*args: Any, **kwargs: Any) -> None:
    """``WNetAddConnection2(NetResource, Password=None, UserName=None, Flags=0)`` (keywords by
    those names), or pywin32's positional-only older form ``(dwType, lpLocalName, lpRemoteName[,
    lpProviderName, Username, Password, flags])`` — note user before password there."""
    if len(args) >= 3 and isinstance(args[0], int):
        # pywin32 tries this form first: an int then at least two more positional arguments.
        if len(args) > 7 or kwargs:
            raise TypeError("WNetAddConnection2: the legacy form takes 3 to 7 positional arguments")
        kind, local, remote, provider, user, password, flags = (*args, None, None, None, 0)[:7]
        resource = NETRESOURCE(
            dwType=kind, lpLocalName=local, lpRemoteName=remote, lpProvider=provider
        )
        _add("WNetAddConnection2", resource, password, user, int(flags or 0), None)
        return
    bound = _ADD2.bind(*args, **kwargs)  # TypeError for a bad call, as pywin32 raises
    bound.apply_defaults()
    a = bound.arguments
    if isinstance(a["NetResource"], int):
        raise TypeError("WNetAddConnection2: NetResource must be a NETRESOURCE")
    _add("WNetAddConnection2", a["NetResource"], a["Password"], a["UserName"], a["Flags"], None)


def WNetAddConnection3(
    HwndOwner: int | None,
    NetResource: NETRESOURCE,
    Password: str | None = None,
    UserName: str | None = None,
    Flags: int = 0,
) -> None:
    _add(
        "WNetAddConnection3",
        NetResource,
        Password,
        UserName,
        Flags,
        int(HwndOwner) if HwndOwner else None,
    )


def WNetAddConnection(
    RemoteName: str, Password: str | None = None, LocalName: str | None = None
) -> None:
    """The compatibility form: documented as persistent (CONNECT_UPDATE_PROFILE)."""
    resource = NETRESOURCE(dwType=RESOURCETYPE_DISK, lpRemoteName=RemoteName, lpLocalName=LocalName)
    _add("WNetAddConnection", resource, Password, None, CONNECT_UPDATE_PROFILE, None)


def WNetCancelConnection2(Name: str, Flags: int = 0, Force: bool | int = False) -> None:
    _call("WNetCancelConnection2", NetRequests.cancel_connection(Name, Flags, Force))


def WNetCancelConnection(Name: str, Force: bool | int = False) -> None:
    """The compatibility form: cancels and forgets (CONNECT_UPDATE_PROFILE), as NT's MPR does."""
    _call(
        "WNetCancelConnection", NetRequests.cancel_connection(Name, CONNECT_UPDATE_PROFILE, Force)
    )


def WNetGetConnection(connection: str | None = None) -> str:
    if not connection:
        raise error(
            ErrorCode.ERROR_BAD_DEVICE,
            "WNetGetConnection",
            error_string(ErrorCode.ERROR_BAD_DEVICE),
        )
    return _call("WNetGetConnection", NetRequests.get_connection(connection)).remote_name


def WNetGetUniversalName(localPath: str, infoLevel: int = UNIVERSAL_NAME_INFO_LEVEL, /) -> Any:
    """The remote form of a path under a drive (``Z:\\dir\\file``) or a mapped directory:
    UNIVERSAL_NAME_INFO_LEVEL gives the universal name, REMOTE_NAME_INFO_LEVEL the tuple
    ``(universalName, connectionName, remainingPath)``."""
    if infoLevel not in (UNIVERSAL_NAME_INFO_LEVEL, REMOTE_NAME_INFO_LEVEL):
        raise error(
            ErrorCode.ERROR_INVALID_LEVEL,
            "WNetGetUniversalName",
            error_string(ErrorCode.ERROR_INVALID_LEVEL),
        )
    name = _call("WNetGetUniversalName", NetRequests.universal_name(str(localPath)))
    if infoLevel == UNIVERSAL_NAME_INFO_LEVEL:
        return name.universal_name
    return name.universal_name, name.connection_name, name.remaining_path


def WNetGetResourceInformation(NetResource: NETRESOURCE, /) -> tuple[NETRESOURCE, str | None]:
    """``(resource, systemPath)``: the resource ``lpRemoteName`` lies in (its type, display
    type and provider) and the part of the name below it (None when there is none)."""
    return _call("WNetGetResourceInformation", NetRequests.resource_information(NetResource))


def WNetGetResourceParent(NetResource: NETRESOURCE, /) -> NETRESOURCE:
    """The parent of ``lpRemoteName`` in the network hierarchy (share → server → provider)."""
    return _call("WNetGetResourceParent", NetRequests.resource_parent(NetResource))


def WNetOpenEnum(
    scope: int, type: int, usage: int, resource: NETRESOURCE | None = None
) -> PyHANDLE:
    return PyHANDLE(_call("WNetOpenEnum", NetRequests.open_enum(scope, type, usage, resource)))


DEFAULT_ENUM_COUNT = 64  # pywin32's default, also what a count of 0 means
ENUM_ALL = 0xFFFFFFFF  # pywin32 reads the count as a C int: -1 is this DWORD, "all of them"
_ENUM_CHUNK = 4096  # items per request to the daemon


def WNetEnumResource(handle: int, maxEntries: int = DEFAULT_ENUM_COUNT, /) -> list[NETRESOURCE]:
    """Up to ``maxEntries`` more resources (0: 64; -1 or 0xFFFFFFFF: all that are left), asking
    the daemon as many times as needed, as pywin32 loops over WNetEnumResource; an empty list
    at the end (pywin32's convention)."""
    wanted = int(maxEntries) & 0xFFFFFFFF or DEFAULT_ENUM_COUNT
    items: list[NETRESOURCE] = []
    while len(items) < wanted:
        try:
            chunk = _call(
                "WNetEnumResource",
                NetRequests.enum_resource(handle, min(wanted - len(items), _ENUM_CHUNK)),
            )
        except error as exc:
            if exc.winerror == ErrorCode.ERROR_NO_MORE_ITEMS:
                break
            raise
        if not chunk:
            break
        items += chunk
    return items


def WNetCloseEnum(handle: int) -> None:
    _call("WNetCloseEnum", NetRequests.close_enum(handle))


def WNetGetLastError() -> tuple[int, str, str]:
    last = _call("WNetGetLastError", NetRequests.last_error())
    # The daemon keeps the text in English: a catalog message is shown in the user's language,
    # a provider's own text (not in the catalog) as it is.
    return last.error, translate(last.text) if last.text else "", last.provider


def WNetGetUser(connection: str | None = None) -> str:
    return _call("WNetGetUser", NetRequests.get_user(connection))
