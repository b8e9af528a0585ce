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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...codes import RASCS, RasError, errors
from ...phonebook import Entry


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
    log: logging.Logger
    # Options from openras.toml's [devices] table, for tuning (keepalive, time-outs).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def phone_number(self) -> str:
        return self.params.phone_number or self.entry.get("PhoneNumber") or ""


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

    def projection(self, kind: int) -> dict[str, Any]:
        """RasGetProjectionInfo for ``kind`` (a RASP_* value), once Projected."""
        raise RasError(errors.ERROR_PROTOCOL_NOT_CONFIGURED, f"projection {kind:#x} not configured")

    def status(self) -> dict[str, Any]:
        """Device-specific status fields (addresses, listener ports, interface)."""
        return {}


def check_user_file(path: str, uid: int, what: str, private: bool = False) -> str:
    """Refuse a file named by an entry that the dialing user could not read themselves.

    The daemon may run as root for every local user: without this check an entry could make it
    read another user's key. ``private`` files (keys) must be owned by that user (or root's own).
    """
    import os
    import stat

    if not path:
        raise RasError(errors.ERROR_CORRUPT_PHONEBOOK, f"{what} is not set")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RasError(errors.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise RasError(errors.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: not a regular file")
    if uid in (0, os.geteuid()):
        return path
    if private:
        if st.st_uid != uid:
            raise RasError(errors.ERROR_ACCESS_DENIED, f"{what} {path} is not owned by uid {uid}")
    elif st.st_uid != uid and not st.st_mode & stat.S_IROTH:
        raise RasError(errors.ERROR_ACCESS_DENIED, f"{what} {path} is not readable by uid {uid}")
    return path
