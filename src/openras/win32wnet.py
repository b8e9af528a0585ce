"""pywin32's ``win32wnet`` on openras: Windows WNet code runs unchanged.

Signatures follow pywin32 (reference/mpr.md §8); failures raise :class:`error`, shaped like
``pywintypes.error``: ``(winerror, funcname, strerror)``. Every call goes to the daemon
(through :mod:`openras.client.net`), which owns the connections, so they outlive this
process, as on Windows.

WNetGetLastError answers for this process: the daemon keeps the last provider error per
client process (uid and pid from the socket's peer credentials).
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from . import pywintypes
from .client import ApiError
from .client.net import NetClient, NetRequests, Request
from .codes import ErrorCode, error_string
from .i18n import translate
from .mpr.netresource import *  # noqa: F403 - the constants, as pywin32 exports them
from .mpr.netresource import CONNECT_UPDATE_PROFILE, NETRESOURCE, RESOURCETYPE_DISK

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


def WNetAddConnection2(
    NetResource: NETRESOURCE | int,
    Password: str | None = None,
    UserName: str | None = None,
    Flags: int = 0,
    *legacy: Any,
) -> None:
    """``WNetAddConnection2(NetResource, Password=None, UserName=None, Flags=0)``; pywin32's older
    form ``(Type, LocalName, RemoteName, ProviderName, UserName, Password, Flags)`` works too."""
    if isinstance(NetResource, int):
        args = [NetResource, Password, UserName, Flags, *legacy] + [None] * 7
        kind, local, remote, provider, user, password, flags = args[:7]
        resource = NETRESOURCE(
            dwType=kind, lpLocalName=local, lpRemoteName=remote, lpProvider=provider
        )
        _add("WNetAddConnection2", resource, password, user, flags or 0, None)
        return
    _add("WNetAddConnection2", NetResource, Password, UserName, Flags, None)


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


def WNetOpenEnum(
    scope: int, type: int, usage: int, resource: NETRESOURCE | None = None
) -> PyHANDLE:
    return PyHANDLE(_call("WNetOpenEnum", NetRequests.open_enum(scope, type, usage, resource)))


def WNetEnumResource(handle: int, maxEntries: int = 64) -> list[NETRESOURCE]:
    """Up to ``maxEntries`` more resources; an empty list at the end (pywin32's convention)."""
    try:
        return _call("WNetEnumResource", NetRequests.enum_resource(handle, max(1, int(maxEntries))))
    except error as exc:
        if exc.winerror == ErrorCode.ERROR_NO_MORE_ITEMS:
            return []
        raise


def WNetCloseEnum(handle: int) -> None:
    _call("WNetCloseEnum", NetRequests.close_enum(handle))


def WNetGetLastError() -> tuple[int, str, str]:
    last = _call("WNetGetLastError", NetRequests.last_error())
    # The daemon keeps the text in English: a catalog message is shown in the user's language,
    # a provider's own text (not in the catalog) as it is.
    return last.error, translate(last.text) if last.text else "", last.provider


def WNetGetUser(connection: str | None = None) -> str:
    return _call("WNetGetUser", NetRequests.get_user(connection))
