"""HDLC-like framing for PPP on asynchronous links (RFC 1662 §4, §6).

``encode_frame`` turns one PPP packet into escaped octets ready for the wire;
``Deframer`` turns octets from the wire, split anywhere, back into packets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from .constants import DEFAULT_ACCM
from .fcs import fcs16

FLAG = 0x7E
ESCAPE = 0x7D
ALL_STATIONS = 0xFF
UI = 0x03

_FLAG_B = b"\x7e"
_ADDR_CTRL = b"\xff\x03"
_UNESCAPE = re.compile(rb"\x7d(.)", re.DOTALL)


@lru_cache(maxsize=16)
def _escape_pattern(accm: int) -> re.Pattern[bytes]:
    chars = [c for c in range(32) if accm & (1 << c)] + [ESCAPE, FLAG]
    return re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in chars) + b"]")


def _escape_one(match: re.Match[bytes]) -> bytes:
    return bytes((ESCAPE, match[0][0] ^ 0x20))


def escape(data: bytes, accm: int = DEFAULT_ACCM) -> bytes:
    """Escape 0x7E, 0x7D and every control character flagged in ``accm`` (the peer's receive
    ACCM)."""
    return _escape_pattern(accm & 0xFFFFFFFF).sub(_escape_one, data)


def unescape(data: bytes) -> bytes:
    """Undo ``escape``; a trailing lone 0x7D is dropped (callers treat it as an abort)."""
    return _UNESCAPE.sub(lambda m: bytes((m[1][0] ^ 0x20,)), data)


def encode_protocol(protocol: int, pfc: bool = False) -> bytes:
    if pfc and protocol < 0x100:
        return bytes((protocol,))
    return protocol.to_bytes(2, "big")


def encode_frame(
    protocol: int,
    info: bytes,
    accm: int = DEFAULT_ACCM,
    acfc: bool = False,
    pfc: bool = False,
) -> bytes:
    """One complete frame: flag, [FF 03], protocol, information, FCS, escaped, flag."""
    body = (b"" if acfc else _ADDR_CTRL) + encode_protocol(protocol, pfc) + info
    body += fcs16(body).to_bytes(2, "little")
    return _FLAG_B + escape(body, accm) + _FLAG_B


def decode_body(body: bytes) -> tuple[int, bytes] | None:
    """(protocol, information) from an unescaped frame without its FCS; None if malformed.

    Both compressions are accepted whatever was negotiated (RFC 1661 §6.5, §6.6 recommend it).
    """
    if body[:2] == _ADDR_CTRL:
        body = body[2:]
    if not body:
        return None
    if body[0] & 1:  # a compressed one-octet protocol field
        return body[0], body[1:]
    if len(body) < 2 or not body[1] & 1:
        return None  # protocol numbers are odd in their last octet
    return int.from_bytes(body[:2], "big"), body[2:]


@dataclass
class DeframerStats:
    frames: int = 0
    octets: int = 0
    bad_fcs: int = 0
    too_short: int = 0
    oversize: int = 0
    aborted: int = 0
    bad_header: int = 0
    garbage_octets: int = 0


@dataclass
class Frame:
    protocol: int
    info: bytes


@dataclass
class Deframer:
    """Collects octets into frames; drops and counts garbage, short, oversize and bad-FCS frames.

    ``rx_accm`` is our receive ACCM: control characters flagged in it that arrive unescaped
    were inserted by the line and are removed before anything else (RFC 1662 §4.2).
    """

    max_frame: int = 1500 + 8
    rx_accm: int = DEFAULT_ACCM
    stats: DeframerStats = field(default_factory=DeframerStats)
    _raw: bytearray = field(default_factory=bytearray, repr=False)
    _synced: bool = False
    _overflow: bool = False

    def feed(self, data: bytes) -> list[Frame]:
        """Add octets from the wire; return the frames they completed, in order."""
        return list(self.iter_frames(data))

    def iter_frames(self, data: bytes) -> Iterator[Frame]:
        """Like ``feed``, lazily: a change to ``rx_accm`` between two frames applies to the next.

        LCP reaching Opened changes the receive ACCM, and the very next frame in the same
        read may already be sent under it.
        """
        self.stats.octets += len(data)
        chunks = data.split(_FLAG_B)
        for index, chunk in enumerate(chunks):
            if index:  # a flag preceded this chunk: the collected frame (if any) ends here
                if self._synced:
                    frame = self._finish()
                    if frame is not None:
                        yield frame
                self._synced = True
                self._raw.clear()
                self._overflow = False
            if not chunk:
                continue
            if not self._synced:
                self.stats.garbage_octets += len(chunk)  # before the first flag: noise
                continue
            if self._overflow:
                continue
            # Escaped octets can at most double the length; past that the frame is oversize.
            if len(self._raw) + len(chunk) > 2 * self.max_frame + 4:
                self._overflow = True
                self._raw.clear()
                continue
            self._raw += chunk

    def _finish(self) -> Frame | None:
        raw = bytes(self._raw)
        if self._overflow:
            self.stats.oversize += 1
            return None
        if not raw:
            return None  # back-to-back flags between frames
        if self.rx_accm:
            raw = raw.translate(None, _accm_chars(self.rx_accm))
            if not raw:
                return None
        if raw[-1] == ESCAPE:  # 0x7D 0x7E: the abort sequence
            self.stats.aborted += 1
            return None
        body = unescape(raw)
        if len(body) < 4:
            self.stats.too_short += 1
            return None
        if len(body) > self.max_frame:
            self.stats.oversize += 1
            return None
        if fcs16(body[:-2]) != int.from_bytes(body[-2:], "little"):
            self.stats.bad_fcs += 1
            return None
        decoded = decode_body(body[:-2])
        if decoded is None:
            self.stats.bad_header += 1
            return None
        self.stats.frames += 1
        return Frame(*decoded)


@lru_cache(maxsize=16)
def _accm_chars(accm: int) -> bytes:
    return bytes(c for c in range(32) if accm & (1 << c))
