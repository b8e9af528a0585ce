"""The device interface: a device moves one link through the RASCS states.

The connection manager creates one device per dial, gives it a :class:`DialContext` and
awaits :meth:`Device.dial`. The device reports each state it enters with
``ctx.progress(state)``; it fails by raising :class:`~openras.codes.RasError` (the failure
is reported in the last state it entered). After a successful dial, a device that loses its
link calls ``ctx.link_lost(code, detail)`` once. :meth:`Device.hangup` must be idempotent
and must not return before every resource of the link (sockets, listeners, interfaces,
child processes) is released.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...codes import RASCS, ErrorCode, RasError
from ...phonebook import Entry
from ...users import is_privileged
from ..records import LinkStatistics, LinkStatus, Projection

# Files an entry names are read as the dialing user would (re-exported for the devices).
from ..userfiles import MAX_USER_FILE as MAX_USER_FILE
from ..userfiles import read_user_file as read_user_file

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]


class HandleLog(logging.LoggerAdapter):
    """A handle's log lines, named by their handle. ``getChild(f"h{handle}")`` made a logger
    per handle, and the logging module keeps every named logger for the process's life."""

    def __init__(self, log: logging.Logger, handle: int) -> None:
        super().__init__(log, {"handle": handle})
        self.prefix = f"h{handle}: "

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return self.prefix + str(msg), kwargs


@dataclass
class DialParams:
    """RASDIALPARAMS: what the caller passed, merged with the entry's saved credentials."""

    entry: str = ""
    phone_number: str = ""
    callback_number: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    domain: str = ""


@dataclass
class DialContext:
    handle: int
    entry: Entry
    params: DialParams
    owner_uid: int
    progress: Callable[[RASCS], None]
    link_lost: Callable[[int, str], None]
    log: Log
    # Options from openras.toml's [devices] table, for tuning (keepalive, time-outs).
    options: dict[str, Any] = field(default_factory=dict)
    # The daemon's state directory (resolver files of links live under it).
    state_dir: Path = field(default_factory=lambda: Path("/var/lib/openras"))
    # Uids holding a reference to the link besides its owner (joined dials of an AllUsers entry).
    holders: Callable[[], Collection[int]] = field(default_factory=lambda: lambda: ())

    def may_use(self, uid: int) -> bool:
        """Whether ``uid`` may send traffic over the link (its SOCKS listener, say)."""
        return uid == self.owner_uid or is_privileged(uid) or uid in self.holders()

    @property
    def phone_number(self) -> str:
        return self.params.phone_number or self.entry.get("PhoneNumber") or ""


def default_route(ctx: DialContext) -> tuple[bool, str | None]:
    """``IpPrioritizeRemote=1``: whether this dial may route the whole machine through its link,
    and (when it asked and may not) the note that says why it got a split tunnel. That is the
    administrator's call: root, the daemon's user, or ``[devices.*] default_route_uids``."""
    if ctx.entry.get_int("IpPrioritizeRemote", 0) != 1:
        return False, None
    if is_privileged(ctx.owner_uid) or ctx.owner_uid in ctx.options.get("default_route_uids", []):
        return True, None
    return False, f"IpPrioritizeRemote=1 refused for uid {ctx.owner_uid}: split tunnel"


class Device(ABC):
    device_type: ClassVar[str]  # RASCONN szDeviceType, e.g. "ssh", "modem", "vpn"

    def __init__(self, ctx: DialContext) -> None:
        self.ctx = ctx

    @property
    def device_name(self) -> str:
        return self.device_type

    @abstractmethod
    async def dial(self) -> None:
        """Bring the link up to RASCS_Connected's door (the manager reports Connected)."""

    @abstractmethod
    async def hangup(self) -> None:
        """Release everything; idempotent; safe at any point of dial()."""

    def projection(self, kind: int) -> Projection:
        """RasGetProjectionInfo for ``kind`` (a RASP_* value), once Projected."""
        raise RasError(
            ErrorCode.ERROR_PROTOCOL_NOT_CONFIGURED, f"projection {kind:#x} not configured"
        )

    def status(self) -> LinkStatus:
        """What the device knows of its link (addresses, listener ports, interface)."""
        return LinkStatus()

    def statistics(self) -> LinkStatistics:
        """RasGetConnectionStatistics: the link's counters as last known (the manager adds
        the duration). Never blocks: counters another program keeps are read by
        :meth:`refresh_statistics`."""
        return LinkStatistics()

    async def refresh_statistics(self) -> None:  # noqa: B027 - most devices count themselves
        """Read the counters another program keeps (charon, the kernel) into
        :meth:`statistics`. Default: nothing to read."""


def entry_number(
    entry: Entry,
    key: str,
    options: Mapping[str, Any],
    option: str,
    default: float,
    minimum: float | None = None,
) -> float:
    """A numeric entry key; absent or blank: the ``[devices]``
    option ``option``, else ``default``. Not a number, or below ``minimum``: 625
    ERROR_CORRUPT_PHONEBOOK."""
    value: Any = entry.get(key)
    if value is None or str(value).strip() == "":
        value = options.get(option, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RasError(
            ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{key}={value!r} is not a number"
        ) from None
    if minimum is not None and number < minimum:
        what = "negative" if minimum == 0 else f"below {minimum:g}"
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{key}={value!r} is {what}")
    return number
