"""Following a dial, sans-IO: the event stream goes in, the dial's notifications come out.

The sync and asyncio clients own the I/O (reading the stream, asking whether the handle still
exists); this class owns every decision: which events are the dial's notifications, when the dial
is over, where to resume after the stream was cut off or lost, and when to give up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..codes import RASCS, ErrorCode
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
# A stream that ends before the dial does is resumed; these bound how often.
MAX_RESUMES = 10
MAX_FAILED_RESUMES = 3


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
    def __init__(self, handle: int, since: int) -> None:
        self.handle = handle
        self.since = since  # the last sequence number seen: where the stream resumes
        self.done = False
        self.cut_off = False  # the current stream ended (overflow): read a new one
        self._resumes = 0
        self._failures = 0

    def query(self) -> dict[str, Any]:
        """The event-stream parameters for (re)reading this dial's events."""
        self.cut_off = False
        return {"since": self.since, "handle": self.handle}

    def feed(self, event: Event) -> list[Notification]:
        """One event of the stream: the notifications it stands for (none or one)."""
        if self.done:
            return []
        if isinstance(event, Overflow):
            self.cut_off = True
            return []
        self.since = event.seq
        if getattr(event, "handle", None) != self.handle:
            return []  # the process's shared stream carries every handle's events
        if isinstance(event, HangupStarted | Released):
            self.done = True  # a hang-up stops the dial's notifications
            return []
        if not isinstance(event, StateChanged | ReferenceChanged) or event.handle != self.handle:
            return []
        note = notification_of(event)
        self.done = note.final
        return [note]

    def stream_ended(self, failure: ApiError | None = None) -> None:
        """The stream ended before the dial did; raises once resuming no longer makes sense."""
        self._resumes += 1
        if failure is not None:
            self._failures += 1
            if self._failures > MAX_FAILED_RESUMES:
                raise failure
        if self._resumes > MAX_RESUMES:
            raise ApiError(ErrorCode.ERROR_DISCONNECTION, detail="the event stream keeps ending")

    def give_up(self, failure: ApiError) -> Notification:
        """The dial's last notification when its daemon cannot be reached any more."""
        self.done = True
        return Notification(
            self.handle, RASCS.Disconnected, failure.code, 0, failure.detail, self.since
        )

    def handle_exists(self, exists: bool) -> None:
        """After a lost stream: a handle that is gone was hung up; its dial is over."""
        if not exists:
            self.done = True


def notification_of(event: ConnectionEvent) -> Notification:
    return Notification(
        event.handle, event.state, event.error, event.extended_error, event.detail, event.seq
    )
