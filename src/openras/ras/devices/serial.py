"""PPP straight on a serial line or pty (``DEVICE=serial``, ``Port=``): no dialing.

The port is opened through pyserial-asyncio-fast with an exclusive lock (flock), so a port
in use by another link — in this daemon or in any other program that locks it (pppd, minicom,
another openras) — fails the dial in OpenPort with 633 ERROR_PORT_NOT_AVAILABLE.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
from typing import Any

from ...codes import ErrorCode, RasError
from ...users import is_privileged
from .base import DialContext
from .ppp_device import PppDevice
from .ppp_port import PortProtocol

DEFAULT_BAUD = 115200

# Ports opened by links of this daemon: real path → handle. The flock already refuses a second
# open (even from this process); this names the handle that holds it.
_OPEN_PORTS: dict[str, int] = {}


def check_port_access(path: str, uid: int) -> None:
    """The dialing user must be able to open the tty themselves (the daemon may be root)."""
    if is_privileged(uid):
        return
    st = os.stat(path)
    mode = st.st_mode
    if st.st_uid == uid and mode & 0o600 == 0o600:
        return
    if mode & 0o006 == 0o006:
        return
    try:
        user = pwd.getpwuid(uid)
        groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    except KeyError:
        groups = set()
    if st.st_gid in groups and mode & 0o060 == 0o060:
        return
    raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{path} is not read-writable by uid {uid}")


class SerialDevice(PppDevice):
    device_type = "serial"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.path = ctx.entry.get("Port") or ""
        self._claimed: str | None = None

    @property
    def device_name(self) -> str:
        return self.path or self.device_type

    async def open_port(self) -> PortProtocol:
        import serial
        import serial_asyncio_fast

        if not self.path:
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, "Port= is not set")
        real = self._character_device()
        # NSS group look-ups may block (LDAP, sssd): not on the event loop.
        await asyncio.to_thread(check_port_access, real, self.ctx.owner_uid)
        for _ in range(500):  # a redial of this same handle: its previous device is still closing
            if _OPEN_PORTS.get(real) != self.ctx.handle:
                break
            await asyncio.sleep(0.01)
        holder = _OPEN_PORTS.get(real)
        if holder is not None:
            raise RasError(
                ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"{self.path} is in use by handle {holder}"
            )
        _OPEN_PORTS[real] = self.ctx.handle
        self._claimed = real
        baud = self.bps = self.ctx.entry.get_int("BaudRate", DEFAULT_BAUD)
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await serial_asyncio_fast.create_serial_connection(
                loop,
                PortProtocol,
                url=real,
                baudrate=baud,
                exclusive=True,
                rtscts=False,
                xonxoff=False,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._release_claim()
            busy = "exclusively lock" in str(exc) or getattr(exc, "errno", 0) == 16
            raise RasError(
                ErrorCode.ERROR_PORT_NOT_AVAILABLE if busy else ErrorCode.ERROR_HARDWARE_FAILURE,
                f"{self.path}: {exc}",
            ) from None
        assert isinstance(protocol, PortProtocol)
        for _ in range(100):  # the transport calls connection_made() from the loop, a moment later
            if protocol.transport is not None:
                break
            await asyncio.sleep(0)
        return protocol

    def _character_device(self) -> str:
        real = os.path.realpath(self.path)  # a pty link from socat points at /dev/pts/N
        try:
            if not stat.S_ISCHR(os.stat(real).st_mode):
                raise RasError(
                    ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"{self.path} is not a character device"
                )
        except OSError as exc:
            raise RasError(
                ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"{self.path}: {exc.strerror}"
            ) from None
        return real

    def serial_port(self) -> Any:
        """The pyserial object under the transport (for DTR), or None."""
        transport = self.port.transport if self.port is not None else None
        return getattr(transport, "serial", None)

    def _release_claim(self) -> None:
        if self._claimed is not None and _OPEN_PORTS.get(self._claimed) == self.ctx.handle:
            del _OPEN_PORTS[self._claimed]
        self._claimed = None

    async def hangup(self) -> None:
        try:
            await super().hangup()
            await self._wait_port_closed()
        finally:
            self._release_claim()

    async def _wait_port_closed(self) -> None:
        # The transport closes the tty in an executor: wait (bounded) so the next dial can lock it.
        for _ in range(200):
            if self.port is None or self.port.closed:
                return
            await asyncio.sleep(0.01)
