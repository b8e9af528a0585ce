"""The PPP devices by ``DEVICE=`` value (imported by the device registry).

Entry keys (besides Windows' own, listed in ppp_config.py):

| DEVICE | keys |
|---|---|
| ``tcp`` | ``PhoneNumber=host:port``, ``TcpConnectTimeout`` (s, default 20) |
| ``serial`` | ``Port=/dev/ttyS0`` or a pty path, ``BaudRate`` (default 115200) |
| ``modem`` | ``Port=``, ``PhoneNumber=``, ``BaudRate``, ``ModemInit`` (extra AT commands run after
  ``ATZ``/``ATE0``, separated by ``;``), ``ModemDialPrefix`` (default ``ATDT``),
  ``ModemAnswerSeconds`` (wait for the dial result, default 60), ``ModemGuardSeconds``
  (the ``+++`` guard time, default 1) |
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Device, DialContext
from .modem import ModemDevice
from .serial import SerialDevice
from .tcp import TcpDevice

PPP_DEVICES: dict[str, Callable[[DialContext], Device]] = {
    "tcp": TcpDevice,
    "serial": SerialDevice,
    "modem": ModemDevice,
}
