"""A sans-IO parser of OpenVPN's management interface (openvpn's doc/management-notes.txt).

:class:`MgmtParser` takes bytes as they arrive (any split) and gives back typed, frozen
events: real-time notifications (``>STATE:``, ``>PASSWORD:``, ``>HOLD:``, ``>FATAL:``,
``>BYTECOUNT:``, ``>INFO:``, ``>LOG:`` …) and command replies (``SUCCESS:``/``ERROR:``, the
lines of a multi-line reply and its ``END``). It never touches a socket or the clock.
:func:`quote` and :func:`credential_commands` build commands with the protocol's escaping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_LINE = 64 * 1024  # longer lines are cut (openvpn's own limit is far below this)


class OvpnState(enum.Enum):
    """The state names of ``>STATE:`` lines (OTHER: a name this parser does not know)."""

    CONNECTING = "CONNECTING"
    WAIT = "WAIT"
    AUTH = "AUTH"
    GET_CONFIG = "GET_CONFIG"
    ASSIGN_IP = "ASSIGN_IP"
    ADD_ROUTES = "ADD_ROUTES"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    EXITING = "EXITING"
    RESOLVE = "RESOLVE"
    TCP_CONNECT = "TCP_CONNECT"
    AUTH_PENDING = "AUTH_PENDING"
    OTHER = "OTHER"


class PasswordKind(enum.Enum):
    NEED = "need"  # >PASSWORD:Need 'Auth' username/password
    FAILED = "failed"  # >PASSWORD:Verification Failed: 'Auth'
    OTHER = "other"  # auth tokens and anything newer


@dataclass(frozen=True)
class State:
    time: int
    state: OvpnState
    name: str  # the raw name (kept when state is OTHER)
    desc: str  # e.g. SUCCESS/ERROR for CONNECTED, the reason for RECONNECTING/EXITING
    local_ip: str
    remote_ip: str
    remote_port: str


@dataclass(frozen=True)
class Password:
    kind: PasswordKind
    realm: str  # 'Auth', 'Private Key', 'HTTP Proxy' …
    wants_username: bool
    text: str


@dataclass(frozen=True)
class Hold:
    text: str


@dataclass(frozen=True)
class Fatal:
    text: str


@dataclass(frozen=True)
class ByteCount:
    bytes_in: int
    bytes_out: int


@dataclass(frozen=True)
class Info:
    text: str


@dataclass(frozen=True)
class Log:
    time: int
    flags: str  # I info, F fatal, N non-fatal error, W warning, D debug
    text: str


@dataclass(frozen=True)
class Notification:
    """Any other real-time message (>NEED-OK:, >ECHO:, >REMOTE: …)."""

    kind: str
    payload: str


@dataclass(frozen=True)
class Success:
    text: str


@dataclass(frozen=True)
class Error:
    text: str


@dataclass(frozen=True)
class ReplyLine:
    """A line of a multi-line command reply (``status``, ``help`` …)."""

    text: str


@dataclass(frozen=True)
class End:
    """The end of a multi-line command reply."""


Event = (
    State
    | Password
    | Hold
    | Fatal
    | ByteCount
    | Info
    | Log
    | Notification
    | Success
    | Error
    | ReplyLine
    | End
)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _realm(text: str) -> str:
    first = text.find("'")
    last = text.find("'", first + 1)
    return text[first + 1 : last] if 0 <= first < last else ""


def parse_line(line: str) -> Event:
    """One line (without its line end) → its event."""
    if line.startswith(">"):
        kind, _, payload = line[1:].partition(":")
        if kind == "STATE":
            f = (payload.split(",") + [""] * 6)[:6]
            try:
                state = OvpnState(f[1])
            except ValueError:
                state = OvpnState.OTHER
            return State(_int(f[0]), state, f[1], f[2], f[3], f[4], f[5])
        if kind == "PASSWORD":
            if payload.startswith("Need "):
                return Password(PasswordKind.NEED, _realm(payload), "username" in payload, payload)
            if payload.startswith("Verification Failed"):
                return Password(PasswordKind.FAILED, _realm(payload), False, payload)
            return Password(PasswordKind.OTHER, _realm(payload), False, payload)
        if kind == "HOLD":
            return Hold(payload)
        if kind == "FATAL":
            return Fatal(payload)
        if kind == "BYTECOUNT":
            received, _, sent = payload.partition(",")
            return ByteCount(_int(received), _int(sent))
        if kind == "INFO":
            return Info(payload)
        if kind == "LOG":
            stamp, _, rest = payload.partition(",")
            flags, _, text = rest.partition(",")
            return Log(_int(stamp), flags, text)
        return Notification(kind, payload)
    if line.startswith("SUCCESS:"):
        return Success(line[8:].strip())
    if line.startswith("ERROR:"):
        return Error(line[6:].strip())
    if line == "END":
        return End()
    return ReplyLine(line)


class MgmtParser:
    """Bytes in (``feed``), events out; a partial line waits for the rest."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:  # a runaway line: keep its head, drop the rest
                    events.append(parse_line(self._decode(bytes(self._buffer[:MAX_LINE]))))
                    self._buffer.clear()
                return events
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            events.append(parse_line(self._decode(raw[:MAX_LINE])))

    @staticmethod
    def _decode(raw: bytes) -> str:
        return raw.rstrip(b"\r").decode("utf-8", "replace")


def quote(value: str) -> str:
    """A command argument in double quotes, ``\\`` and ``"`` escaped (management-notes.txt)."""
    if any(c in value for c in "\r\n\x00"):
        raise ValueError("line breaks and NUL cannot be sent over the management interface")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def credential_commands(realm: str, username: str | None, password: str) -> bytes:
    """``username``/``password`` commands answering a ``>PASSWORD:Need`` for ``realm``."""
    lines = []
    if username is not None:
        lines.append(f"username {quote(realm)} {quote(username)}\n")
    lines.append(f"password {quote(realm)} {quote(password)}\n")
    return "".join(lines).encode()
