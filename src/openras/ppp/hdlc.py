"""HDLC-like framing for PPP on asynchronous links (RFC 1662 §4, §6).

``encode_frame`` turns one PPP packet into escaped octets ready for the wire;
``Deframer`` turns octets from the wire, split anywhere, back into packets.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from .constants import DEFAULT_ACCM
from .fcs import crc16_sdlc as _crc
from .fcs import fcs16

FLAG = 0x7E
ESCAPE = 0x7D
ALL_STATIONS = 0xFF
UI = 0x03
GOOD_FCS = 0x0F47  # fcs16 of any frame followed by its own FCS (RFC 1662 §C.2's residue)

_FLAG_B = b"\x7e"
_ADDR_CTRL = b"\xff\x03"

_XORED = tuple(bytes((c ^ 0x20,)) for c in range(256))  # an escaped octet's second half


@lru_cache(maxsize=16)
def _escapes(accm: int) -> tuple[tuple[bytes, bytes], ...]:
    """(octet, its escape) pairs, 0x7D first: the escapes made later add 0x7D octets."""
    chars = [ESCAPE, FLAG] + [c for c in range(32) if accm & (1 << c)]
    return tuple((bytes((c,)), bytes((ESCAPE, c ^ 0x20))) for c in chars)


# The FCS octets, escaped for ACCM 0, of the FCS values that hold a 0x7D or 0x7E (about one
# frame in 64); every other FCS goes out as it is.
FCS_ESCAPED_ACCM0: dict[int, bytes] = {
    fcs: fcs.to_bytes(2, "little").replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")
    for special in (ESCAPE, FLAG)
    for other in range(256)
    for fcs in (special | other << 8, other | special << 8)
}


def escape(data: bytes, accm: int = DEFAULT_ACCM) -> bytes:
    """Escape 0x7E, 0x7D and every control character flagged in ``accm`` (the peer's receive
    ACCM)."""
    # One C-speed scan per octet to escape (two once LCP negotiated ACCM 0) beats a regex
    # substitution calling back into Python for every match: this runs for every packet.
    for plain, escaped in _escapes(accm & 0xFFFFFFFF):
        if plain in data:
            data = data.replace(plain, escaped)
    return data


def unescape(data: bytes) -> bytes:
    """Undo ``escape``; a trailing lone 0x7D is dropped (callers treat it as an abort)."""
    # bytes.count scans octet by octet; a one-octet replace finds them with memchr.
    escapes = len(data) - len(data.replace(b"\x7d", b""))
    if not escapes:
        return data
    # A peer with ACCM 0 escapes only 0x7E and 0x7D: two C-speed replacements. They are right
    # exactly when each consumed one 0x7D, that is when every 0x7D began a 7D 5E or 7D 5D.
    # (split + join: bytes.replace searches a two-octet pattern twice, to count then to copy.)
    quick = b"\x7d".join(b"\x7e".join(data.split(b"\x7d\x5e")).split(b"\x7d\x5d"))
    if len(data) - len(quick) == escapes:
        return quick
    # Split at 0x7D: each piece after one starts with the escaped octet. An empty piece means
    # the next 0x7D is itself the escaped octet (or, last, that the escape had no octet).
    pieces = data.split(b"\x7d")
    out = [pieces[0]]
    pending = False
    for piece in pieces[1:]:
        if pending:
            out.append(_XORED[ESCAPE])
            out.append(piece)
            pending = False
        elif piece:
            out.append(_XORED[piece[0]])
            out.append(piece[1:])
        else:
            pending = True
    return b"".join(out)


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
        decode = self.decode
        for raw in self.raw_frames(data):
            frame = decode(raw)
            if frame is not None:
                yield Frame(frame[0], frame[1])

    def raw_frames(self, data: bytes) -> list[bytes]:
        """Add octets from the wire; return the still escaped contents of the frames they
        completed, for ``decode`` one by one (it reads ``rx_accm`` when called)."""
        find = data.find
        first = find(_FLAG_B)  # flags are found with memchr: bytes.split scans octet by octet
        if first < 0:
            self.stats.octets += len(data)
            self._collect(data)
            return []
        last = data.rfind(_FLAG_B)
        raws = self.read_ends(data, first, last)
        # Every piece between two flags is a whole frame, decoded without copying it through
        # the buffer.
        limit = 2 * self.max_frame + 4  # escaped octets can at most double the length
        start = first + 1
        while start <= last:
            end = find(_FLAG_B, start)
            if end - start > limit:
                self.stats.oversize += 1
            elif end > start:  # empty: back-to-back flags between frames
                raws.append(data[start:end])
            start = end + 1
        return raws

    def read_ends(self, data: bytes, first: int, last: int) -> list[bytes]:
        """``raw_frames``' bookkeeping for a read whose first flag is at ``first`` and last at
        ``last``: its octets counted, the frame its first flag ends returned (raw) or counted,
        the one its last flag starts kept. The frames between the two are the caller's."""
        self.stats.octets += len(data)
        raws: list[bytes] = []
        if self._synced:
            self._collect(data[:first])
            if self._overflow:
                self.stats.oversize += 1
            elif self._raw:
                raws.append(bytes(self._raw))
        else:
            self.stats.garbage_octets += first  # before the first flag: noise
        self._synced = True
        self._raw.clear()
        self._overflow = False
        self._collect(data[last + 1 :])
        return raws

    def _collect(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not self._synced:
            self.stats.garbage_octets += len(chunk)
            return
        if self._overflow:
            return
        if len(self._raw) + len(chunk) > 2 * self.max_frame + 4:
            self._overflow = True  # oversize: counted when its closing flag comes
            self._raw.clear()
            return
        self._raw += chunk

    def decode_packets(
        self, raws: list[bytes], index: int, protocols: Container[int], packets: list[bytes]
    ) -> tuple[int, tuple[int, bytes] | None]:
        """``decode`` of ``raws[index:]`` in one loop, the information of each frame of
        ``protocols`` appended to ``packets``; it stops after the first other frame and returns
        (the index after it, that frame), or (len(raws), None).

        The receive data path: ``decode``'s work for frames under ACCM 0, with nothing looked
        up per frame. Any other frame (a control protocol's, one under a non-zero receive
        ACCM) returns to the caller, which may change the ACCM before the next.
        """
        if self.rx_accm:
            raw = raws[index]
            return index + 1, self.decode(raw)
        stats = self.stats
        max_frame = self.max_frame
        crc = _crc
        append = packets.append
        count = len(raws)
        frames = 0
        try:
            while index < count:
                raw = raws[index]
                index += 1
                if b"\x7d" in raw:
                    if raw[-1] == ESCAPE:
                        stats.aborted += 1
                        continue
                    body = unescape(raw)
                else:
                    body = raw
                size = len(body)
                if size < 4 or size > max_frame or crc(body) != GOOD_FCS:
                    index -= 1  # counted by decode, one rule for every error
                    break
                protocol = body[0]
                start = 1
                if protocol == ALL_STATIONS and body[1] == UI:
                    if size < 6:  # no room for a protocol field
                        index -= 1
                        break
                    protocol, start = body[2], 3
                if not protocol & 1:
                    if size - start < 3 or not body[start] & 1:
                        index -= 1
                        break
                    protocol = protocol << 8 | body[start]
                    start += 1
                frames += 1
                if protocol in protocols:
                    append(body[start : size - 2])
                else:
                    return index, (protocol, body[start : size - 2])
        finally:
            stats.frames += frames
        if index < count:  # a frame in error: counted by decode
            return index + 1, self.decode(raws[index])
        return index, None

    def decode(self, raw: bytes) -> tuple[int, bytes] | None:
        """One frame's octets between two flags → (protocol, information), or None (counted)."""
        if self.rx_accm:
            raw = raw.translate(None, _accm_chars(self.rx_accm))
            if not raw:
                return None
        if raw[-1] == ESCAPE:  # 0x7D 0x7E: the abort sequence
            self.stats.aborted += 1
            return None
        body = unescape(raw) if b"\x7d" in raw else raw
        size = len(body)
        if size < 4:
            self.stats.too_short += 1
            return None
        if size > self.max_frame:
            self.stats.oversize += 1
            return None
        if _crc(body) != GOOD_FCS:  # over a frame and its own FCS: a constant, no copy
            self.stats.bad_fcs += 1
            return None
        # decode_body's rules on body[:-2], inlined: the information is then the one copy made.
        end = size - 2
        start = 2 if body[0] == ALL_STATIONS and body[1] == UI else 0
        if start >= end:
            self.stats.bad_header += 1
            return None
        protocol = body[start]
        if protocol & 1:
            start += 1
        elif end - start < 2 or not body[start + 1] & 1:
            self.stats.bad_header += 1
            return None
        else:
            protocol = protocol << 8 | body[start + 1]
            start += 2
        self.stats.frames += 1
        return protocol, body[start:end]


@lru_cache(maxsize=16)
def _accm_chars(accm: int) -> bytes:
    return bytes(c for c in range(32) if accm & (1 << c))
