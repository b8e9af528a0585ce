"""Minimal PPP-in-HDLC framing (RFC 1662) to probe a PPP peer, independent of openras's own
engine."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable


def _fcs_table() -> list[int]:
    table = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        table.append(v)
    return table


_TABLE = _fcs_table()

LCP = 0xC021
PAP = 0xC023
CHAP = 0xC223
IPCP = 0x8021

CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ, TERM_REQ, TERM_ACK = 1, 2, 3, 4, 5, 6


def fcs16(data: bytes, fcs: int = 0xFFFF) -> int:
    """FCS-16 as RFC 1662 defines it (before the final complement)."""
    for b in data:
        fcs = (fcs >> 8) ^ _TABLE[(fcs ^ b) & 0xFF]
    return fcs


def encode(protocol: int, payload: bytes) -> bytes:
    """A full frame: flag, FF 03, protocol, payload, FCS; every byte below 0x20 escaped
    (default ACCM)."""
    body = b"\xff\x03" + struct.pack("!H", protocol) + payload
    body += struct.pack("<H", fcs16(body) ^ 0xFFFF)
    out = bytearray(b"\x7e")
    for b in body:
        if b < 0x20 or b in (0x7D, 0x7E):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    out.append(0x7E)
    return bytes(out)


def control(code: int, ident: int, data: bytes = b"") -> bytes:
    """An LCP/IPCP/PAP packet: code, identifier, length, data."""
    return struct.pack("!BBH", code, ident, 4 + len(data)) + data


class Deframer:
    """Feed bytes, get (protocol, payload) for each frame with a good FCS."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        frames: list[tuple[int, bytes]] = []
        while True:
            end = self._buf.find(b"\x7e", 1)
            if end < 0:
                break
            raw, self._buf = bytes(self._buf[:end]), self._buf[end:]
            frame = self._unescape(raw.lstrip(b"\x7e"))
            if len(frame) < 4 or fcs16(frame) != 0xF0B8:  # the RFC 1662 "good FCS" residue
                continue
            frame = frame[:-2]
            if frame[:2] == b"\xff\x03":  # address/control may be compressed (ACFC)
                frame = frame[2:]
            if frame[0] & 1:  # a one-byte protocol field (PFC)
                frames.append((frame[0], frame[1:]))
            else:
                frames.append((struct.unpack("!H", frame[:2])[0], frame[2:]))
        return frames

    @staticmethod
    def _unescape(raw: bytes) -> bytes:
        out = bytearray()
        escaped = False
        for b in raw:
            if escaped:
                out.append(b ^ 0x20)
                escaped = False
            elif b == 0x7D:
                escaped = True
            else:
                out.append(b)
        return bytes(out)


def read_frames(
    recv: Callable[[], bytes],
    deframer: Deframer,
    enough: Callable[[list[tuple[int, bytes]]], bool],
    timeout: float = 5.0,
) -> list[tuple[int, bytes]]:
    """Collect frames from recv() until enough(frames) or the time-out; recv must itself time
    out."""
    frames: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout
    while not enough(frames) and time.monotonic() < deadline:
        try:
            data = recv()
        except TimeoutError:
            continue
        if not data:
            break
        frames += deframer.feed(data)
    return frames
