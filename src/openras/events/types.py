"""The event vocabulary: one frozen dataclass per kind, and the codec used at the edges.

Events are typed everywhere inside the daemon and the client; ``encode`` / ``decode`` turn them
into the JSON objects of the HTTP API (and of the store's event log) and back. Encoded events carry
two derived fields for people and shell scripts, ``state_name`` and ``error_name``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import orjson

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
    # The dialer's own random tag (DialBody.tag), on the first event of its dial only: a
    # client follows its dial from that event on, before the dial's answer reaches it.
    tag: str = ""


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


def _members(enum: type[StrEnum] | type[RASCS]) -> Callable[[Any], Any]:
    members: dict[Any, Any] = {member.value: member for member in enum}
    return members.__getitem__  # an unknown value: KeyError, as Enum(value) raises ValueError


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: convert(value) if value else value


# The codec works from each field's declared type (annotations are strings here), worked out
# once: an event is encoded in the daemon and decoded in every client for every event, so this
# is the event path's hot loop.
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "RASCS": _members(RASCS),
    "Phase": _members(Phase),
    "Notify | None": _optional(_members(Notify)),
    "HookStage": _members(HookStage),
    "HookOutcome": _members(HookOutcome),
    "tuple[str, ...]": tuple,
}
_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "RASCS": int,
    "Phase": str,
    "Notify | None": _optional(str),
    "HookStage": str,
    "HookOutcome": str,
    "tuple[str, ...]": list,
}


_ENUMS = ("RASCS", "Phase", "Notify", "HookStage", "HookOutcome", "EventKind")


@dataclass(frozen=True)
class _Codec:
    fields: tuple[str, ...]
    names: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    encoders: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    decoders: tuple[tuple[str, Callable[[Any], Any]], ...]


def _codec(cls: type[Event]) -> _Codec:
    fields = dataclasses.fields(cls)
    for f in fields:  # a field of an enum type this codec does not know: fail at import
        if any(name in str(f.type) for name in _ENUMS) and str(f.type) not in _DECODERS:
            raise TypeError(f"{cls.__name__}.{f.name}: no codec for {f.type}")
    return _Codec(
        fields=tuple(f.name for f in fields),
        names=frozenset(f.name for f in fields),
        required=frozenset(f.name for f in fields if f.default is dataclasses.MISSING),
        defaults={f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
        encoders=tuple((f.name, _ENCODERS.get(str(f.type))) for f in fields),
        decoders=tuple((f.name, _DECODERS[str(f.type)]) for f in fields if f.type in _DECODERS),
    )


_CODECS: dict[str, _Codec] = {kind.value: _codec(cls) for kind, cls in EVENT_TYPES.items()}
_TYPES: dict[str, type[Event]] = {kind.value: cls for kind, cls in EVENT_TYPES.items()}


def encode(event: Event) -> dict[str, Any]:
    """The JSON object of an event (the API's and the event log's form)."""
    kind = event.kind.value
    out: dict[str, Any] = {"kind": kind}
    values = vars(event)
    for name, convert in _CODECS[kind].encoders:
        value = values[name]
        out[name] = value if convert is None else convert(value)
    if isinstance(event, ConnectionEvent):
        out["state_name"] = state_name(event.state)
        out["error_name"] = error_name(event.error) if event.error else ""
    return out


_JSON_HEADS: dict[str, bytes] = {
    kind.value: b'{"kind":%s,' % orjson.dumps(kind.value) for kind in EVENT_TYPES
}


def encode_json(event: Event) -> bytes:
    """``encode(event)`` as JSON (UTF-8), made by orjson from the dataclass itself (enums as
    their values, tuples as arrays, fields in declaration order): the same object in a
    seventh of the time, for the daemon's event path."""
    body = orjson.dumps(event)
    if isinstance(event, ConnectionEvent):
        tail = b',"state_name":%s,"error_name":%s}' % (
            orjson.dumps(state_name(event.state)),
            orjson.dumps(error_name(event.error) if event.error else ""),
        )
    else:
        tail = b"}"
    return _JSON_HEADS[event.kind.value] + body[1:-1] + tail


def decode(data: dict[str, Any]) -> Event | None:
    """An event from its JSON object; None for a kind this version does not know. A missing
    field or a value outside its enum raises ValueError."""
    kind = data.get("kind", "")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    codec = _CODECS[kind]
    if not codec.required <= data.keys():
        missing = ", ".join(sorted(codec.required - data.keys()))
        raise ValueError(f"{kind} event without {missing}")
    # A frozen dataclass's __init__ sets each field through object.__setattr__; filling the
    # instance's __dict__ gives the same object at a fraction of the cost.
    event = object.__new__(cls)
    values = vars(event)
    values.update(codec.defaults)
    values.update(data)
    for name in data.keys() - codec.names:  # kind, the derived names, a newer daemon's fields
        del values[name]
    try:
        for name, convert in codec.decoders:
            values[name] = convert(values[name])
    except KeyError as exc:
        raise ValueError(f"{kind} event: unknown {exc}") from None
    return event


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
