"""WNetOpenEnum / WNetEnumResource / WNetCloseEnum (reference/mpr.md §5).

An enumeration is a snapshot taken when it is opened (:func:`snapshot`), read in chunks and
closed through its handle (:class:`Enumerations`). Handles belong to the uid that opened
them; each uid keeps at most :data:`MAX_ENUMS_PER_UID` open, the oldest forgotten first.

Scopes: RESOURCE_CONNECTED (the caller's connections), RESOURCE_REMEMBERED (the caller's
remembered ones), RESOURCE_GLOBALNET (at the root: one container per provider, as Windows
lists its networks; below it, what :mod:`openras.mpr.browse` finds in the container).
RESOURCE_CONTEXT and RESOURCE_RECENT are ERROR_NOT_SUPPORTED.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..codes import ErrorCode, RasError
from .netresource import (
    NETRESOURCE,
    RESOURCE_CONNECTED,
    RESOURCE_CONTEXT,
    RESOURCE_GLOBALNET,
    RESOURCE_RECENT,
    RESOURCE_REMEMBERED,
    RESOURCEDISPLAYTYPE_NETWORK,
    RESOURCEDISPLAYTYPE_SHARE,
    RESOURCETYPE_ANY,
    RESOURCETYPE_DISK,
    RESOURCETYPE_PRINT,
    RESOURCEUSAGE_CONNECTABLE,
    RESOURCEUSAGE_CONTAINER,
)
from .providers.base import Provider
from .remembered import RememberedEntry

MAX_ENUMS_PER_UID = 64


def remembered_resource(e: RememberedEntry) -> NETRESOURCE:
    return NETRESOURCE(
        RESOURCE_REMEMBERED,
        e.type,
        RESOURCEDISPLAYTYPE_SHARE,
        RESOURCEUSAGE_CONNECTABLE,
        e.local_name,
        e.remote_name,
        None,
        e.provider,
    )


def network_resource(p: Provider) -> NETRESOURCE:
    """A provider as a container at the root of the network."""
    return NETRESOURCE(
        RESOURCE_GLOBALNET,
        RESOURCETYPE_ANY,
        RESOURCEDISPLAYTYPE_NETWORK,
        RESOURCEUSAGE_CONTAINER,
        None,
        p.name,
        None,
        p.name,
    )


def snapshot(
    scope: int,
    type_: int,
    usage: int,
    container: NETRESOURCE | None,
    *,
    connected: Callable[[], Iterable[NETRESOURCE]],
    remembered: Callable[[], Iterable[RememberedEntry]],
    providers: Iterable[Provider],
    children: list[NETRESOURCE] | None = None,
) -> list[NETRESOURCE]:
    """The items of a WNetOpenEnum. ``connected`` and ``remembered`` give what the caller may
    see (asked only for their scope); ``children``: what a GLOBALNET container holds (browsed
    already). RasError for a bad or unsupported request."""
    if type_ not in (RESOURCETYPE_ANY, RESOURCETYPE_DISK, RESOURCETYPE_PRINT):
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"dwType {type_}")
    if scope == RESOURCE_CONNECTED:
        items = list(connected())
    elif scope == RESOURCE_REMEMBERED:
        items = [remembered_resource(e) for e in remembered()]
    elif scope == RESOURCE_GLOBALNET:
        if usage & ~(RESOURCEUSAGE_CONNECTABLE | RESOURCEUSAGE_CONTAINER):
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"dwUsage {usage:#x}")
        if container is not None and (container.lpRemoteName or container.lpProvider):
            if children is None:
                raise RasError(ErrorCode.ERROR_NOT_SUPPORTED, "the container was not browsed")
            items = [i for i in children if not usage or i.dwUsage & usage]
        else:
            items = [network_resource(p) for p in providers]
            if usage and not usage & RESOURCEUSAGE_CONTAINER:
                items = []
    elif scope in (RESOURCE_CONTEXT, RESOURCE_RECENT):
        raise RasError(ErrorCode.ERROR_NOT_SUPPORTED, f"dwScope {scope} is not supported")
    else:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"dwScope {scope}")
    if type_ == RESOURCETYPE_PRINT:
        items = [i for i in items if i.dwType == RESOURCETYPE_PRINT]
    return items


@dataclass
class EnumState:
    uid: int
    items: list[NETRESOURCE]
    pos: int = 0


class Enumerations:
    """The open enumerations, by handle."""

    def __init__(self) -> None:
        self._states: dict[int, EnumState] = {}
        self._ids = itertools.count(1)

    def open(self, uid: int, items: list[NETRESOURCE]) -> int:
        """A handle for reading ``items``; forgets the uid's oldest past the limit."""
        mine = sorted(h for h, e in self._states.items() if e.uid == uid)
        for h in mine[: max(0, len(mine) - MAX_ENUMS_PER_UID + 1)]:
            del self._states[h]  # forgotten handles: the oldest go first
        handle = next(self._ids)
        self._states[handle] = EnumState(uid, items)
        return handle

    def _state(self, uid: int, handle: int) -> EnumState:
        state = self._states.get(handle)
        if state is None or state.uid != uid:
            raise RasError(ErrorCode.ERROR_INVALID_HANDLE, f"no enumeration {handle}")
        return state

    def read(self, uid: int, handle: int, count: int) -> list[NETRESOURCE]:
        """Up to ``count`` more items; ERROR_NO_MORE_ITEMS at the end."""
        if count < 1:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "count must be at least 1")
        state = self._state(uid, handle)
        if state.pos >= len(state.items):
            raise RasError(ErrorCode.ERROR_NO_MORE_ITEMS, "end of the enumeration")
        chunk = state.items[state.pos : state.pos + count]
        state.pos += len(chunk)
        return chunk

    def close(self, uid: int, handle: int) -> None:
        self._state(uid, handle)
        del self._states[handle]
