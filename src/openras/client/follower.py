"""Following a dial, sans-IO: the event stream goes in, the dial's notifications come out.

The sync and asyncio clients own the I/O (the process's shared event stream, client/hub.py, which
resumes after a cut-off itself; asking whether the handle still exists); this class owns the
decisions: which events are the dial's notifications, when the dial is over, and what its last
notification is when no daemon can say any more.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codes import RASCS
from ..events.types import (
    ConnectionEvent,
    Event,
    HangupStarted,
    Overflow,
    ReferenceChanged,
    Released,
    StateChanged,
)
from .api import ApiError

FINAL = (RASCS.Connected, RASCS.Disconnected)


@dataclass(frozen=True)
class Notification:
    """One RasDial notification: the state entered, or the error it failed in."""

    handle: int
    state: RASCS
    error: int
    extended_error: int
    detail: str
    seq: int

    @property
    def final(self) -> bool:
        return self.error != 0 or self.state in FINAL


class DialFollower:
    """``handle`` 0 with a ``tag``: the dial was tagged and its answer has not come yet; the
    first event carrying the tag names the handle (``learn`` does, when the answer comes
    first)."""

    def __init__(self, handle: int, since: int, tag: str = "") -> None:
        self.handle = handle
        self.since = since  # the last sequence number seen: where the stream resumes
        self.tag = tag
        self.done = False

    def learn(self, handle: int) -> None:
        """The dial's answer named its handle."""
        self.handle = handle

    def feed(self, event: Event) -> list[Notification]:
        """One event of the stream: the notifications it stands for (none or one)."""
        if self.done:
            return []
        if isinstance(event, Overflow):
            return []  # the hub resumes after a cut-off by itself
        self.since = event.seq
        if not self.handle and self.tag and getattr(event, "tag", "") == self.tag:
            self.handle = event.handle  # type: ignore[attr-defined]
        if getattr(event, "handle", None) != self.handle:
            return []  # the process's shared stream carries every handle's events
        if isinstance(event, HangupStarted | Released):
            self.done = True  # a hang-up stops the dial's notifications
            return []
        if not isinstance(event, StateChanged | ReferenceChanged):
            return []
        note = notification_of(event)
        self.done = note.final
        return [note]

    def give_up(self, failure: ApiError) -> Notification:
        """The dial's last notification when its daemon cannot be reached any more."""
        self.done = True
        return Notification(
            self.handle, RASCS.Disconnected, failure.code, 0, failure.detail, self.since
        )


def notification_of(event: ConnectionEvent) -> Notification:
    return Notification(
        event.handle, event.state, event.error, event.extended_error, event.detail, event.seq
    )
