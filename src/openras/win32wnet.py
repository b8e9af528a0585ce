"""pywin32's ``win32wnet`` on openras: Windows WNet code runs unchanged.

Signatures follow pywin32 (reference/mpr.md §8); failures raise :class:`error`, shaped like
``pywintypes.error``: ``(winerror, funcname, strerror)``. Every call goes to the daemon's
``/v1/net`` API, which owns the connections, so they outlive this process, as on Windows.

WNetGetLastError answers for this process: the daemon keeps the last provider error per
client process (uid and pid from the socket's peer credentials).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

from . import pywintypes
from .client import ApiError, Client
from .codes import ErrorCode, error_string
from .mpr.netresource import *  # noqa: F403 - the constants, as pywin32 exports them
from .mpr.netresource import CONNECT_UPDATE_PROFILE, NETRESOURCE, RESOURCETYPE_DISK

error = pywintypes.error  # pywin32: both modules raise pywintypes.error


class PyHANDLE(int):
    """An enumeration handle (pywin32 returns a PyHANDLE)."""

    @property
    def handle(self) -> int:
        return int(self)

    def Close(self) -> None:
        WNetCloseEnum(self)


_lock = threading.Lock()
_client: Client | None = None


def _call(func: str, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
    global _client
    with _lock:
        if _client is None:
            _client = Client()
        client = _client
    try:
        return client.call(method, path, json=json, params=params)
    except ApiError as exc:
        raise error(exc.code, func, error_string(exc.code)) from None


def _name(name: str) -> str:
    # Names carry "\", "/" and ":": one percent-encoded path segment.
    return quote(name, safe="")


def _nr_json(resource: NETRESOURCE | None) -> dict[str, Any] | None:
    if resource is None:
        return None
    return {k: getattr(resource, k) for k in ("dwScope", "dwType", "dwDisplayType", "dwUsage", "lpLocalName",
                                               "lpRemoteName", "lpComment", "lpProvider")}


def _add(func: str, resource: NETRESOURCE, password: str | None, user: str | None, flags: int,
         owner: int | None) -> None:
    _call(func, "POST", "/v1/net/connections",
          json={"netresource": _nr_json(resource), "password": password, "user": user, "flags": int(flags),
                "owner": owner})


def WNetAddConnection2(NetResource: NETRESOURCE | int, Password: str | None = None, UserName: str | None = None,
                       Flags: int = 0, *legacy: Any) -> None:
    """``WNetAddConnection2(NetResource, Password=None, UserName=None, Flags=0)``; pywin32's older
    form ``(Type, LocalName, RemoteName, ProviderName, UserName, Password, Flags)`` works too."""
    if isinstance(NetResource, int):
        args = [NetResource, Password, UserName, Flags, *legacy] + [None] * 7
        kind, local, remote, provider, user, password, flags = args[:7]
        resource = NETRESOURCE(dwType=kind, lpLocalName=local, lpRemoteName=remote, lpProvider=provider)
        _add("WNetAddConnection2", resource, password, user, flags or 0, None)
        return
    _add("WNetAddConnection2", NetResource, Password, UserName, Flags, None)


def WNetAddConnection3(HwndOwner: int | None, NetResource: NETRESOURCE, Password: str | None = None,
                       UserName: str | None = None, Flags: int = 0) -> None:
    _add("WNetAddConnection3", NetResource, Password, UserName, Flags, int(HwndOwner) if HwndOwner else None)


def WNetAddConnection(RemoteName: str, Password: str | None = None, LocalName: str | None = None) -> None:
    """The compatibility form: documented as persistent (CONNECT_UPDATE_PROFILE)."""
    resource = NETRESOURCE(dwType=RESOURCETYPE_DISK, lpRemoteName=RemoteName, lpLocalName=LocalName)
    _add("WNetAddConnection", resource, Password, None, CONNECT_UPDATE_PROFILE, None)


def WNetCancelConnection2(Name: str, Flags: int = 0, Force: bool | int = False) -> None:
    _call("WNetCancelConnection2", "DELETE", f"/v1/net/connections/{_name(Name)}",
          params={"flags": int(Flags), "force": "1" if Force else "0"})


def WNetCancelConnection(Name: str, Force: bool | int = False) -> None:
    """The compatibility form: cancels and forgets (CONNECT_UPDATE_PROFILE), as NT's MPR does."""
    _call("WNetCancelConnection", "DELETE", f"/v1/net/connections/{_name(Name)}",
          params={"flags": CONNECT_UPDATE_PROFILE, "force": "1" if Force else "0"})


def WNetGetConnection(connection: str | None = None) -> str:
    if not connection:
        raise error(ErrorCode.ERROR_BAD_DEVICE, "WNetGetConnection", error_string(ErrorCode.ERROR_BAD_DEVICE))
    return str(_call("WNetGetConnection", "GET", f"/v1/net/connections/{_name(connection)}")["remote_name"])


def WNetOpenEnum(scope: int, type: int, usage: int, resource: NETRESOURCE | None = None) -> PyHANDLE:
    body = {"dwScope": int(scope), "dwType": int(type), "dwUsage": int(usage), "container": _nr_json(resource)}
    return PyHANDLE(_call("WNetOpenEnum", "POST", "/v1/net/enum", json=body)["handle"])


def WNetEnumResource(handle: int, maxEntries: int = 64) -> list[NETRESOURCE]:
    """Up to ``maxEntries`` more resources; an empty list at the end (pywin32's convention)."""
    try:
        items = _call("WNetEnumResource", "GET", f"/v1/net/enum/{int(handle)}",
                      params={"count": max(1, int(maxEntries))})["items"]
    except error as exc:
        if exc.winerror == ErrorCode.ERROR_NO_MORE_ITEMS:
            return []
        raise
    return [NETRESOURCE.from_json(item) for item in items]


def WNetCloseEnum(handle: int) -> None:
    _call("WNetCloseEnum", "DELETE", f"/v1/net/enum/{int(handle)}")


def WNetGetLastError() -> tuple[int, str, str]:
    body = _call("WNetGetLastError", "GET", "/v1/net/last-error")
    return int(body["error"]), str(body["text"]), str(body["provider"])


def WNetGetUser(connection: str | None = None) -> str:
    params = {"name": connection} if connection else None
    return str(_call("WNetGetUser", "GET", "/v1/net/user", params=params)["user"])
