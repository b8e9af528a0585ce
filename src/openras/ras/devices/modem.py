"""PPP through an AT modem (``DEVICE=modem``, ``Port=``, ``PhoneNumber=``).

ConnectDevice: ``ATZ``, ``ATE0``, the entry's ``ModemInit`` commands (``;``-separated), then
``ATDT<PhoneNumber>`` (``ModemDialPrefix`` changes ``ATDT``). Result codes: ``CONNECT`` →
DeviceConnected; ``BUSY`` 676, ``NO ANSWER`` 678, ``NO CARRIER`` 679, ``NO DIALTONE`` 680,
``ERROR`` 651. Silence: an init command unanswered for 5 s fails with 638
ERROR_REQUEST_TIMEOUT (the modem itself is not responding); a dial unanswered for
``ModemAnswerSeconds`` (default 60) fails with 678 ERROR_NO_ANSWER — that is what a modem
reports when its own S7 timer runs out, so the caller sees the same code either way.

Hang-up: after PPP's Terminate exchange, drop DTR; where DTR cannot be driven (a pty),
``+++`` with ``ModemGuardSeconds`` of silence around it, then ``ATH``.
"""

from __future__ import annotations

import asyncio
import time

from ...codes import RASCS, ErrorCode, RasError
from .base import DialContext, entry_number
from .ppp_port import PortProtocol
from .serial import SerialDevice

INIT_TIMEOUT = 5.0
RESULTS = (
    ("NO DIALTONE", ErrorCode.ERROR_NO_DIALTONE),
    ("NO DIAL TONE", ErrorCode.ERROR_NO_DIALTONE),
    ("NO CARRIER", ErrorCode.ERROR_NO_CARRIER),
    ("NO ANSWER", ErrorCode.ERROR_NO_ANSWER),
    ("BUSY", ErrorCode.ERROR_LINE_BUSY),
    ("ERROR", ErrorCode.ERROR_FROM_DEVICE),
)


class ModemDevice(SerialDevice):
    device_type = "modem"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.connect_result = ""  # e.g. "CONNECT 115200" once dialed

    @property
    def device_name(self) -> str:
        return f"modem:{self.path}" if self.path else self.device_type

    async def _command(
        self, port: PortProtocol, command: str, wait: float, final: tuple[str, ...] = ("OK",)
    ) -> str:
        """Send one AT command; return the first result line (a prefix of ``final`` or a
        failure)."""
        port.buffer.clear()
        try:
            encoded = command.encode("ascii")
        except UnicodeEncodeError:
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{command!r}: modem commands are ASCII"
            ) from None
        port.write(encoded + b"\r")
        pending = b""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or port.closed:
                return ""
            chunk = await port.read_some(left)
            pending += chunk
            *lines, rest = pending.replace(b"\n", b"\r").split(b"\r")
            for i, raw in enumerate(lines):
                line = raw.decode("ascii", "replace").strip()
                if not line or line.upper().startswith("AT"):  # blank, or our own echo
                    continue
                upper = line.upper()
                if upper.startswith(final) or any(upper.startswith(r) for r, _ in RESULTS):
                    # Whatever followed the result line (PPP frames after CONNECT) is kept for
                    # the link.
                    tail = b"\r".join([*lines[i + 1 :], rest]) if i + 1 < len(lines) else rest
                    port.buffer[:0] = tail.lstrip(b"\r\n")
                    return upper
            pending = rest

    @staticmethod
    def _failure(result: str) -> int | None:
        for text, code in RESULTS:
            if result.startswith(text):
                return code
        return None

    async def connect_device(self, port: PortProtocol) -> None:
        ctx = self.ctx
        self.progress(RASCS.ConnectDevice)
        number = ctx.phone_number.strip()
        if not number:
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, "PhoneNumber is not set")
        if any(ch in number for ch in "\r\n;"):
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, "PhoneNumber holds a line break or ';'"
            )
        init = ["ATZ", "ATE0"] + [
            c.strip() for c in (ctx.entry.get("ModemInit") or "").split(";") if c.strip()
        ]
        for command in init:
            result = await self._command(port, command, INIT_TIMEOUT)
            if not result:
                raise RasError(
                    ErrorCode.ERROR_REQUEST_TIMEOUT, f"the modem did not answer {command}"
                )
            code = self._failure(result)
            if code is not None:
                raise RasError(
                    ErrorCode.ERROR_FROM_DEVICE, f"the modem answered {command} with {result}"
                )
        prefix = ctx.entry.get("ModemDialPrefix") or "ATDT"
        answer = entry_number(
            ctx.entry, "ModemAnswerSeconds", ctx.options, "answer_timeout", 60, minimum=0
        )
        result = await self._command(port, prefix + number, answer, final=("CONNECT",))
        if not result:
            port.write(b"\r")  # any character aborts a dial in progress
            raise RasError(ErrorCode.ERROR_NO_ANSWER, f"no result within {answer:g} s of dialing")
        code = self._failure(result)
        if code is not None:
            raise RasError(code, f"the modem reported {result}")
        self.connect_result = result  # e.g. "CONNECT 115200"

    async def release_port(self) -> None:
        port = self.port
        if port is None or port.closed or not self.connect_result:
            return
        ser = self.serial_port()
        try:
            ser.dtr = False  # a real modem hangs up on DTR loss (AT&D2)
            await asyncio.sleep(0.2)
            return
        except (OSError, AttributeError, ValueError):
            pass  # a pty has no modem-control lines
        guard = entry_number(
            self.ctx.entry, "ModemGuardSeconds", self.ctx.options, "guard_time", 1.0, minimum=0
        )
        port.buffer.clear()
        await asyncio.sleep(guard)
        port.write(b"+++")
        await asyncio.sleep(guard)
        await self._command(port, "ATH", INIT_TIMEOUT)
