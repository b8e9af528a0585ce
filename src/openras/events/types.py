"""The event vocabulary: one frozen dataclass per kind, and the codec used at the edges.

Events are typed everywhere inside the daemon and the client; ``encode`` / ``decode`` turn them
into the JSON objects of the HTTP API (and of the store's event log) and back. Encoded events carry
two derived fields for people and shell scripts, ``state_name`` and ``error_name``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..codes import RASCS, error_name, state_name


class EventKind(StrEnum):
    STATE = "state"  # a connection entered a RASCS state (or failed in one)
    REFERENCE = "reference"  # a dial joined / a hang-up left a shared handle
    HANGUP = "hangup"  # teardown started
    RELEASED = "released"  # teardown complete: the handle is gone
    REDIAL = "redial"  # an automatic redial attempt starts on the same handle
    ENTRY = "entry"  # a phonebook entry was created, updated, deleted or imported
    NET = "net"  # an MPR connection was made, cancelled, forgotten or restored
    NOTIFYEE = "notifyee"  # an MPR notifyee was skipped or failed
    DAEMON = "daemon"  # the daemon is starting, ready, reloaded or stopping
    HOOK = "hook"  # a per-connection hook ran, timed out or was skipped
    REFUSED = "refused"  # a dial refused before any handle existed (623, 625, 633, ...)
    OVERFLOW = "overflow"  # the stream was cut off: resume from ``resume_from``


class Notify(StrEnum):
    """What RasConnectionNotification reports an event as."""

    CONNECTION = "connection"
    DISCONNECTION = "disconnection"


class Phase(StrEnum):
    """Where a connection handle is in its life (the manager's state machine)."""

    DIALING = "dialing"  # notifications still flowing
    CONNECTED = "connected"
    FAILED = "failed"  # the dial failed or the link was lost: listed with its error until hung up
    HANGING_UP = "hanging_up"  # teardown under way: status still answers
    RELEASED = "released"  # gone: status answers ERROR_INVALID_HANDLE


class HookStage(StrEnum):
    """When a per-connection hook runs (the name of its directory, ``hooks/<stage>.d``)."""

    PRE_UP = "pre-up"  # before Connected is announced; a failure fails the dial
    UP = "up"
    PRE_DOWN = "pre-down"  # before a hang-up tears a connected link down
    DOWN = "down"  # after a connected link went away, however it went
    DIAL_FAILED = "dial-failed"


class HookOutcome(StrEnum):
    OK = "ok"  # exit status 0
    FAILED = "failed"  # a non-zero exit status, or killed by a signal
    TIMED_OUT = "timed_out"  # killed after the time-out
    SKIPPED = "skipped"  # insecure (owner, mode) or could not be started


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[EventKind]
    seq: int = 0  # given by the bus when published
    time: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ConnectionEvent(Event):
    """A change of one connection handle; the fields of its RASCONN / RASCONNSTATUS."""

    handle: int
    entry: str
    phonebook: str = ""
    owner_uid: int
    device_type: str
    state: RASCS
    error: int = 0
    extended_error: int = 0
    detail: str = ""
    phase: Phase
    refs: int
    notify: Notify | None = None


@dataclass(frozen=True, kw_only=True)
class StateChanged(ConnectionEvent):
    kind: ClassVar[EventKind] = EventKind.STATE
    recovered: bool = False  # found at start-up, left by a daemon that died


@dataclass(frozen=True, kw_only=True)
class ReferenceChanged(ConnectionEvent):
    kind: ClassVar[EventKind] = EventKind.REFERENCE
    joined_uid: int | None = None
    left_uid: int | None = None


@dataclass(frozen=True, kw_only=True)
class HangupStarted(ConnectionEvent):
    kind: ClassVar[EventKind] = EventKind.HANGUP
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Released(ConnectionEvent):
    kind: ClassVar[EventKind] = EventKind.RELEASED


@dataclass(frozen=True, kw_only=True)
class Redialing(ConnectionEvent):
    kind: ClassVar[EventKind] = EventKind.REDIAL
    attempt: int
    attempts: int


@dataclass(frozen=True, kw_only=True)
class EntryChanged(Event):
    kind: ClassVar[EventKind] = EventKind.ENTRY
    action: str  # created / updated / deleted / imported
    entry: str = ""
    owner_uid: int | None = None
    old_name: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class NetChanged(Event):
    kind: ClassVar[EventKind] = EventKind.NET
    action: str  # connected / disconnected / forgotten / restored / lost (in a daemon crash)
    uid: int
    local_name: str | None
    remote_name: str
    provider: str
    forced: bool | None = None


@dataclass(frozen=True, kw_only=True)
class NotifyeeReport(Event):
    kind: ClassVar[EventKind] = EventKind.NOTIFYEE
    notifyee: str
    path: str
    operation: str  # add / cancel
    phase: str  # pre / post
    error: str


@dataclass(frozen=True, kw_only=True)
class DaemonChanged(Event):
    kind: ClassVar[EventKind] = EventKind.DAEMON
    action: str  # starting / ready / reloaded / reload-failed / stopping
    pid: int


@dataclass(frozen=True, kw_only=True)
class HookRan(Event):
    kind: ClassVar[EventKind] = EventKind.HOOK
    handle: int
    entry: str
    stage: HookStage
    hook: str  # the file's name in its stage directory
    path: str
    outcome: HookOutcome
    exit_status: int | None = None  # negative: killed by that signal
    duration: float = 0.0  # seconds
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class DialRefused(Event):
    """A dial that never got a handle: without this it would leave no trace anywhere."""

    kind: ClassVar[EventKind] = EventKind.REFUSED
    entry: str
    uid: int
    error: int
    detail: str


@dataclass(frozen=True, kw_only=True)
class Overflow(Event):
    kind: ClassVar[EventKind] = EventKind.OVERFLOW
    resume_from: int
    message: str = "stream cut off; resume from resume_from"


EVENT_TYPES: dict[EventKind, type[Event]] = {
    cls.kind: cls
    for cls in (
        StateChanged,
        ReferenceChanged,
        HangupStarted,
        Released,
        Redialing,
        EntryChanged,
        NetChanged,
        NotifyeeReport,
        DaemonChanged,
        HookRan,
        DialRefused,
        Overflow,
    )
}
_FIELDS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in EVENT_TYPES.values()
}


def encode(event: Event) -> dict[str, Any]:
    """The JSON object of an event (the API's and the event log's form)."""
    out: dict[str, Any] = {"kind": event.kind.value}
    for name in _FIELDS[type(event)]:
        value = getattr(event, name)
        if isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, RASCS):
            value = int(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    if isinstance(event, ConnectionEvent):
        out["state_name"] = state_name(event.state)
        out["error_name"] = error_name(event.error) if event.error else ""
    return out


def decode(data: dict[str, Any]) -> Event | None:
    """An event from its JSON object; None for a kind this version does not know."""
    try:
        cls = EVENT_TYPES[EventKind(data.get("kind", ""))]
    except ValueError:
        return None
    kwargs = {name: data[name] for name in _FIELDS[cls] if name in data}
    if issubclass(cls, ConnectionEvent):
        kwargs["state"] = RASCS(kwargs["state"])
        kwargs["phase"] = Phase(kwargs["phase"])
        if kwargs.get("notify"):
            kwargs["notify"] = Notify(kwargs["notify"])
    if cls is HookRan:
        kwargs["stage"] = HookStage(kwargs["stage"])
        kwargs["outcome"] = HookOutcome(kwargs["outcome"])
    if "names" in kwargs:
        kwargs["names"] = tuple(kwargs["names"])
    return cls(**kwargs)


def schemas() -> dict[str, tuple[str, Any]]:
    """Class name → (kind, JSON Schema) of every event kind, for the OpenAPI document."""
    from pydantic import TypeAdapter

    out: dict[str, Any] = {}
    for kind, cls in EVENT_TYPES.items():
        schema = TypeAdapter(cls).json_schema()
        schema.setdefault("properties", {})["kind"] = {"const": kind.value}
        schema["required"] = sorted({*schema.get("required", []), "kind"})
        if issubclass(cls, ConnectionEvent):
            schema["properties"]["state_name"] = {"type": "string"}
            schema["properties"]["error_name"] = {"type": "string"}
        out[cls.__name__] = (kind.value, schema)
    return out


__all__ = [
    "EVENT_TYPES",
    "ConnectionEvent",
    "DaemonChanged",
    "DialRefused",
    "EntryChanged",
    "Event",
    "EventKind",
    "HangupStarted",
    "HookOutcome",
    "HookRan",
    "HookStage",
    "NetChanged",
    "Notify",
    "NotifyeeReport",
    "Overflow",
    "Phase",
    "Redialing",
    "ReferenceChanged",
    "Released",
    "StateChanged",
    "decode",
    "encode",
    "schemas",
]
