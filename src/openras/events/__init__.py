"""The ordered event stream: typed events (:mod:`.types`) and the daemon's bus (:mod:`.bus`)."""

from .bus import EventBus, Predicate, Subscription
from .types import (
    ConnectionEvent,
    DaemonChanged,
    EntryChanged,
    Event,
    EventKind,
    HangupStarted,
    NetChanged,
    Notify,
    NotifyeeReport,
    Overflow,
    Phase,
    Redialing,
    ReferenceChanged,
    Released,
    StateChanged,
    decode,
    encode,
)

__all__ = [
    "ConnectionEvent", "DaemonChanged", "EntryChanged", "Event", "EventBus", "EventKind",
    "HangupStarted", "NetChanged", "Notify", "NotifyeeReport", "Overflow", "Phase", "Predicate",
    "Redialing", "ReferenceChanged", "Released", "StateChanged", "Subscription", "decode", "encode",
]
