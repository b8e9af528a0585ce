"""The RAS connection state machine as one table: ``(phase, trigger) → phase``.

A trigger that has no row for the connection's phase is ignored: that is how a device's progress
after a hang-up, a second failure, or a link loss during teardown stop being reported (RAS
contract points 2 and 5). Each row also names the event kind the transition publishes.
"""

from __future__ import annotations

from enum import Enum

from ..events.types import (
    ConnectionEvent,
    HangupStarted,
    Phase,
    Redialing,
    ReferenceChanged,
    Released,
    StateChanged,
)


class Trigger(Enum):
    PROGRESS = "progress"  # the device entered a RASCS state
    SUCCEEDED = "succeeded"  # the device's dial() returned: RASCS_Connected
    FAILED = "failed"  # the device's dial() raised: the error in the last state entered
    LINK_LOST = "link_lost"  # a connected link went down
    REDIAL = "redial"  # RedialOnLinkFailure: dial again on the same handle
    JOIN = "join"  # a dial of a connected entry took a reference
    LEAVE = "leave"  # a hang-up dropped a reference, others remain
    HANG_UP = "hang_up"  # the last reference hung up (or the daemon stops): teardown starts
    RELEASE = "release"  # teardown complete, or a failed handle's owner is gone
    RECOVER = "recover"  # start-up: a record left by a daemon that died


D, C, F, H, R = Phase.DIALING, Phase.CONNECTED, Phase.FAILED, Phase.HANGING_UP, Phase.RELEASED

TRANSITIONS: dict[tuple[Phase, Trigger], Phase] = {
    (D, Trigger.PROGRESS): D,
    (D, Trigger.SUCCEEDED): C,
    (D, Trigger.FAILED): F,
    (C, Trigger.LINK_LOST): F,
    (F, Trigger.REDIAL): D,
    (C, Trigger.JOIN): C,
    (C, Trigger.LEAVE): C,
    (D, Trigger.HANG_UP): H,
    (C, Trigger.HANG_UP): H,
    (F, Trigger.HANG_UP): H,
    (H, Trigger.RELEASE): R,
    (F, Trigger.RELEASE): R,
    (R, Trigger.RECOVER): F,
}

EVENTS: dict[Trigger, type[ConnectionEvent]] = {
    Trigger.PROGRESS: StateChanged,
    Trigger.SUCCEEDED: StateChanged,
    Trigger.FAILED: StateChanged,
    Trigger.LINK_LOST: StateChanged,
    Trigger.REDIAL: Redialing,
    Trigger.JOIN: ReferenceChanged,
    Trigger.LEAVE: ReferenceChanged,
    Trigger.HANG_UP: HangupStarted,
    Trigger.RELEASE: Released,
    Trigger.RECOVER: StateChanged,
}


def next_phase(phase: Phase, trigger: Trigger) -> Phase | None:
    """The phase ``trigger`` leads to from ``phase``; None when the table ignores it."""
    return TRANSITIONS.get((phase, trigger))
