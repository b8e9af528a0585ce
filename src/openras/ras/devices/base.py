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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...codes import RASCS, ErrorCode, RasError
from ...phonebook import Entry
from ...users import is_privileged
from ..records import LinkStatistics, LinkStatus, Projection


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
    # The daemon's state directory (resolver files of links live under it).
    state_dir: Path = field(default_factory=lambda: Path("/var/lib/openras"))

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


MAX_USER_FILE = 256 * 1024


def _may_traverse(directory: str, uid: int) -> bool:
    """Could ``uid`` reach into every directory above a file? (owner/other bits: conservative)."""
    import os
    import stat

    path = os.path.abspath(directory)
    while True:
        st = os.stat(path)
        bit = stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH
        if not st.st_mode & bit:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def read_user_file(path: str, uid: int, what: str, private: bool = False) -> bytes:
    """Read a file an entry names, as far as the dialing user could read it themselves.

    The daemon may run as root for every local user: without these checks an entry could make it
    read another user's key. The checks are made on the open descriptor (O_NOFOLLOW), so the file
    cannot be swapped between check and read; ``private`` files (keys) must be owned by the user.
    Blocking: call it in a thread.
    """
    import os
    import stat

    if not path:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{what} is not set")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise RasError(
            ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: {exc.strerror}"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RasError(
                ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: not a regular file"
            )
        if st.st_size > MAX_USER_FILE:
            raise RasError(
                ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK,
                f"{what} {path}: larger than {MAX_USER_FILE} bytes",
            )
        if not is_privileged(uid):
            if private and st.st_uid != uid:
                raise RasError(
                    ErrorCode.ERROR_ACCESS_DENIED, f"{what} {path} is not owned by uid {uid}"
                )
            readable = st.st_mode & (stat.S_IRUSR if st.st_uid == uid else stat.S_IROTH)
            if not readable or not _may_traverse(os.path.dirname(path), uid):
                raise RasError(
                    ErrorCode.ERROR_ACCESS_DENIED, f"{what} {path} is not readable by uid {uid}"
                )
        return os.read(fd, MAX_USER_FILE + 1)
    finally:
        os.close(fd)
