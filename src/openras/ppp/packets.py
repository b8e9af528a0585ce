"""Control-protocol packets (Code, Identifier, Length, Data) and their option lists
(RFC 1661 §5, §6)."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class CpPacket:
    code: int
    identifier: int
    data: bytes = b""

    def encode(self) -> bytes:
        return (
            struct.pack("!BBH", self.code, self.identifier & 0xFF, len(self.data) + 4) + self.data
        )

    @classmethod
    def decode(cls, buf: bytes) -> CpPacket | None:
        """None when the header is short or Length is impossible; octets past Length are padding."""
        if len(buf) < 4:
            return None
        code, identifier, length = struct.unpack_from("!BBH", buf)
        if length < 4 or length > len(buf):
            return None
        return cls(code, identifier, bytes(buf[4:length]))


@dataclass(frozen=True)
class Option:
    type: int
    data: bytes = b""

    def encode(self) -> bytes:
        return bytes((self.type, len(self.data) + 2)) + self.data

    @property
    def u16(self) -> int | None:
        return int.from_bytes(self.data, "big") if len(self.data) == 2 else None

    @property
    def u32(self) -> int | None:
        return int.from_bytes(self.data, "big") if len(self.data) == 4 else None


def parse_options(data: bytes) -> list[Option] | None:
    """The options in ``data``, or None when an option's Length is < 2 or overruns the packet."""
    options: list[Option] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            return None
        length = data[pos + 1]
        if length < 2 or pos + length > len(data):
            return None
        options.append(Option(data[pos], bytes(data[pos + 2 : pos + length])))
        pos += length
    return options


def encode_options(options: list[Option]) -> bytes:
    return b"".join(option.encode() for option in options)
