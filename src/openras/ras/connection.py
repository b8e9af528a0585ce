"""A connection handle: what the manager keeps for one RasDial, and its status record."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from ..codes import RASCS
from ..events.types import Phase
from ..phonebook import Entry
from .devices.base import Device, DialParams
from .processes import ProcessRef
from .records import ConnectionRecord, LinkStatus, RasConn

__all__ = ["Connection", "Phase", "Reference"]


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
    failed_at: float | None = None
    owner_gone_since: float | None = None
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))
    task: asyncio.Task[None] | None = None
    redial_task: asyncio.Task[None] | None = None
    dial_tag: str = ""  # the dialer's tag, until the dial's first event carries it
    open_announced: bool = False  # OpenPort announced by the manager, not yet by the device

    @property
    def redial_pending(self) -> bool:
        return self.redial_task is not None and not self.redial_task.done()

    @property
    def key(self) -> tuple[str, str]:
        """Dials of the same key share one handle (contract point 8)."""
        return (self.phonebook, self.entry_name)

    def record(self, flags: int = 0) -> ConnectionRecord:
        """The status / enumeration view (never any secret)."""
        return ConnectionRecord(
            handle=self.handle,
            entry=self.entry_name,
            phonebook=self.phonebook,
            device_type=self.device.device_type,
            device_name=self.device.device_name,
            phone_number=self.params.phone_number or self.entry.get("PhoneNumber") or "",
            guid=self.guid,
            state=self.state,
            error=self.error,
            extended_error=self.extended_error,
            detail=self.detail,
            phase=self.phase,
            owner_uid=self.owner_uid,
            refs=len(self.refs),
            user=self.params.user,
            created=self.created,
            connected_at=self.connected_at,
            device=self._device_status(),
            flags=flags,
        )

    def rasconn(self, flags: int = 0) -> RasConn:
        """The RASCONN view: no device query, so enumerating many links stays cheap."""
        return RasConn(
            handle=self.handle,
            entry=self.entry_name,
            device_type=self.device.device_type,
            device_name=self.device.device_name,
            phonebook=self.phonebook,
            subentry=1,
            guid=self.guid,
            flags=flags,
        )

    def _device_status(self) -> LinkStatus:
        # Listing must work whatever one device does: a failing status() is reported, not raised.
        try:
            return self.device.status()
        except Exception as exc:
            return LinkStatus(extra={"status_error": f"{type(exc).__name__}: {exc}"})
