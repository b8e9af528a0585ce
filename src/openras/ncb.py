"""pywin32's ``win32wnet.NCB``, ``NCBBuffer`` and ``Netbios`` (the NetBIOS API, nb30.h).

There is no NetBIOS here (Windows itself dropped it after XP), so :func:`Netbios` carries out no
command: every call answers ``NRC_ILLCMD`` (0x03, "illegal command") — the NetBIOS return code
for a command this implementation does not support — in the return value, ``Retcode`` and
``Cmd_cplt``, and never touches the buffer. Programs that check the code (pywin32's own
``netbios`` helper module raises on anything but NRC_GOODRET) stop cleanly instead of reading
invented adapters.
"""

from __future__ import annotations

from typing import Any

NCBNAMSZ = 16
NRC_GOODRET = 0x00
NRC_ILLCMD = 0x03
_BYTE_FIELDS = ("Command", "Retcode", "Lsn", "Num", "Rto", "Sto", "Lana_num", "Cmd_cplt")


def NCBBuffer(size: int) -> bytearray:
    """A zeroed buffer of ``size`` bytes for ``NCB.Buffer`` (at most 65535, as a WORD)."""
    size = int(size)
    if not 0 <= size <= 0xFFFF:
        raise ValueError("Buffer can be at most 65535 bytes")
    return bytearray(size)


class NCB:
    """A network control block: the fields of nb30.h's NCB under pywin32's names."""

    Command: int
    Retcode: int
    Lsn: int
    Num: int
    Rto: int
    Sto: int
    Lana_num: int
    Cmd_cplt: int
    Event: int
    Post: int
    _callname: bytes
    _name: bytes
    _buffer: Any

    def __init__(self) -> None:
        self.Reset()

    def Reset(self) -> None:
        for name in _BYTE_FIELDS:
            object.__setattr__(self, name, 0)
        object.__setattr__(self, "Event", 0)
        object.__setattr__(self, "Post", 0)
        object.__setattr__(self, "_callname", b"")
        object.__setattr__(self, "_name", b"")
        object.__setattr__(self, "_buffer", None)

    @staticmethod
    def _padded(value: str | bytes) -> bytes:
        raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        raw = raw[:NCBNAMSZ]
        return raw.ljust(NCBNAMSZ, b" ") if raw else b""  # names are space padded to 16

    @property
    def Callname(self) -> bytes:
        return bytes(self._callname)

    @Callname.setter
    def Callname(self, value: str | bytes) -> None:
        object.__setattr__(self, "_callname", self._padded(value))

    @property
    def Name(self) -> bytes:
        return bytes(self._name)

    @Name.setter
    def Name(self, value: str | bytes) -> None:
        object.__setattr__(self, "_name", self._padded(value))

    @property
    def Buffer(self) -> Any:
        return self._buffer

    @Buffer.setter
    def Buffer(self, value: Any) -> None:
        # pywin32 accepts an object with a ``_buffer_`` (netbios.NCBStruct) or a buffer itself.
        data = getattr(value, "_buffer_", value)
        if len(memoryview(data)) > 0xFFFF:
            raise ValueError("Buffer can be at most 65535 bytes")
        object.__setattr__(self, "_buffer", value)

    @property
    def Bufflen(self) -> int:
        if self._buffer is None:
            return 0
        return len(memoryview(getattr(self._buffer, "_buffer_", self._buffer)))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _BYTE_FIELDS:
            value = int(value)
            if not 0 <= value <= 0xFF:
                raise OverflowError(f"{name} is a byte (0-255)")
        elif name in ("Event", "Post"):
            value = int(value)
        elif name != "Callname" and name != "Name" and name != "Buffer":
            raise AttributeError(f"NCB has no attribute {name!r}")
        object.__setattr__(self, name, value)


def Netbios(ncb: NCB) -> int:
    """Carry out an NCB command: NetBIOS is not available here, so NRC_ILLCMD every time."""
    if not isinstance(ncb, NCB):
        raise TypeError("Netbios() argument must be an NCB")
    ncb.Retcode = NRC_ILLCMD
    ncb.Cmd_cplt = NRC_ILLCMD
    return NRC_ILLCMD
