"""A connection handle's record: what RasGetConnectStatus and RasEnumConnections report."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..codes import RASCS, error_name, state_name
from ..phonebook import Entry
from .devices.base import Device, DialParams
from .processes import ProcessRef


class Phase(StrEnum):
    DIALING = "dialing"  # notifications still flowing
    CONNECTED = "connected"
    FAILED = "failed"  # the dial failed or the link was lost: listed with its error until hung up
    HANGING_UP = "hanging_up"  # teardown under way: status still answers


@dataclass
class Reference:
    """One successful RasDial of this handle (each needs its own hang-up)."""

    uid: int
    process: ProcessRef | None


@dataclass
class Connection:
    handle: int
    entry: Entry
    entry_name: str  # RASCONN szEntryName: the entry, or "." + phone number
    phonebook: str  # RASCONN szPhonebook: the phonebook file, "" for the daemon's own
    params: DialParams
    device: Device
    owner_uid: int
    refs: list[Reference]
    state: RASCS = RASCS.OpenPort
    error: int = 0
    extended_error: int = 0
    detail: str = ""
    phase: Phase = Phase.DIALING
    was_connected: bool = False
    created: float = field(default_factory=time.time)
    connected_at: float | None = None
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    task: asyncio.Task[None] | None = None
    redial_task: asyncio.Task[None] | None = None

    @property
    def redial_pending(self) -> bool:
        return self.redial_task is not None and not self.redial_task.done()
    failed_at: float | None = None
    owner_gone_since: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Dials of the same key share one handle (contract point 8)."""
        return (self.phonebook, self.entry_name)

    def record(self) -> dict[str, Any]:
        """The status / enumeration view (never any secret)."""
        return {
            "handle": self.handle,
            "entry": self.entry_name,
            "phonebook": self.phonebook,
            "device_type": self.device.device_type,
            "device_name": self.device.device_name,
            "phone_number": self.params.phone_number or self.entry.get("PhoneNumber") or "",
            "subentry": 1,
            "guid": self.guid,
            "state": int(self.state),
            "state_name": state_name(self.state),
            "error": self.error,
            "error_name": error_name(self.error) if self.error else "",
            "extended_error": self.extended_error,
            "detail": self.detail,
            "phase": self.phase.value,
            "owner_uid": self.owner_uid,
            "refs": len(self.refs),
            "user": self.params.user,
            "created": self.created,
            "connected_at": self.connected_at,
            "device": self._device_status(),
        }

    def _device_status(self) -> dict[str, Any]:
        # Listing must work whatever one device does: a failing status() is reported, not raised.
        try:
            return self.device.status()
        except Exception as exc:
            return {"status_error": f"{type(exc).__name__}: {exc}"}
