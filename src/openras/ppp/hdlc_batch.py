"""HDLC framing of whole batches: the data path's fast versions of ``Deframer.raw_frames`` +
``decode_packets`` (receive ACCM 0) and of ``send_packets``' per-packet framing.

The framing itself is C (``_hdlc``, built with the package): a TUN batch framed into one
``bytes``, a TCP read's frames unescaped and checked one after the other, each packet copied
out once; the FCS is fastcrc's. ``c_framing()`` says whether it was built: without it (no
compiler where the package was installed) reads go frame by frame through ``Deframer`` and
batches are framed here with two memchr-driven ``bytes.replace`` per packet.

Anything unusual — an abort, a control protocol's frame, a bad FCS, header or size — ends the
fast run: that frame and every later one of the read go back to the caller as raw escaped
frames for the exact path (``Deframer.decode`` one by one), in order, so a change of the
receive ACCM by LCP applies to the very next frame.
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import chain, pairwise, repeat
from operator import itemgetter
from typing import Literal

from .fcs import crc16_sdlc as _crc
from .hdlc import FCS_ESCAPED_ACCM0, Deframer

try:
    from . import _hdlc as _c
except ImportError:  # built without a compiler: the Python paths below and in hdlc.py
    _c = None  # type: ignore[assignment]

_FLAG = b"\x7e"
_ESC = b"\x7d"
_first_octet = itemgetter(0)


def c_framing() -> bool:
    """Whether the C framing was built (``decode_read`` needs it)."""
    return _c is not None


# -- sending ------------------------------------------------------------------------------------


def encode_batch(packets: list[bytes], prefix: bytes, prefix_fcs: int, accm: int = 0) -> bytes:
    """Frames of ``packets`` (one network protocol, every one non-empty): flag, ``prefix``
    (address/control and protocol, as sent: no 0x7D or 0x7E in it), escaped packet, escaped
    FCS, flag — octet for octet what ``encode_frame`` makes of each. A non-zero ``accm`` (the
    peer's receive ACCM) needs the C framing."""
    if _c is not None:
        return _c.encode_frames(packets, prefix, accm)
    assert not accm, "only the C framing escapes control characters in a batch"
    fcss = list(map(_crc, packets, repeat(prefix_fcs)))  # over prefix + packet, no copy
    little: Literal["little"] = "little"
    plain_tails = map(int.to_bytes, fcss, repeat(2), repeat(little))
    tails = map(FCS_ESCAPED_ACCM0.get, fcss, plain_tails)  # the 1 in 64 with a 0x7D or 0x7E
    # 0x7D first: escaping 0x7E adds some. Both one-octet replaces run on memchr.
    half = map(bytes.replace, packets, repeat(_ESC), repeat(b"\x7d\x5d"))
    escaped = map(bytes.replace, half, repeat(_FLAG), repeat(b"\x7d\x5e"))
    return b"".join(chain.from_iterable(zip(repeat(_FLAG + prefix), escaped, tails, repeat(_FLAG))))


def batch_version(packets: list[bytes]) -> int:
    """4 or 6 when every packet is a non-empty IPv4 (IPv6) packet, else 0 (mixed or odd)."""
    if len(packets) == 1:  # a TCP acknowledgement, mostly: no passes over a list
        version = packets[0][0] >> 4 if packets[0] else 0
        return version if version in (4, 6) else 0
    if not packets or not min(map(len, packets)):
        return 0
    firsts = bytes(map(_first_octet, packets))
    low, high = min(firsts) >> 4, max(firsts) >> 4
    return low if low == high and low in (4, 6) else 0


# -- receiving ----------------------------------------------------------------------------------


def decode_read(
    deframer: Deframer, data: bytes, protocols: Collection[int], packets: list[bytes]
) -> list[bytes]:
    """Feed one read to ``deframer`` (its ``rx_accm`` must be 0; ``c_framing()`` true): the
    information of every leading good frame of ``protocols`` is appended to ``packets`` and
    counted; the raw (escaped) contents of the frames from the first other one on are
    returned, in order, for ``deframer.decode`` — what ``raw_frames`` would have returned for
    them.
    """
    assert _c is not None
    first = data.find(_FLAG)
    last = data.rfind(_FLAG)
    if first == last:  # no flag, or no whole frame after the first one
        return deframer.raw_frames(data)
    raws = deframer.read_ends(data, first, last)
    stats = deframer.stats
    wanted = protocols if type(protocols) is tuple else tuple(protocols)
    if raws:  # the frame the read's first flag ends, begun in an earlier read
        whole = _FLAG + raws[0] + _FLAG
        _, count = _c.decode_frames(whole, 0, len(whole) - 1, wanted, deframer.max_frame, packets)
        if not count:  # the exact path decides, and everything after it waits its turn
            return raws + _raw_frames_between(deframer, data, _flags(data, first, last))
        stats.frames += 1
    stop, count = _c.decode_frames(data, first, last, wanted, deframer.max_frame, packets)
    stats.frames += count
    if stop == last:
        return []
    # The rest, raw, for the exact path.
    return _raw_frames_between(deframer, data, _flags(data, stop, last))


def _flags(data: bytes, start: int, last: int) -> list[int]:
    """The places of the flags from data[start] to data[last], both flags."""
    flags = [start]
    find = data.find
    while start < last:
        start = find(_FLAG, start + 1)
        flags.append(start)
    return flags


def _raw_frames_between(deframer: Deframer, data: bytes, flags: list[int]) -> list[bytes]:
    """What ``raw_frames`` makes of the octets between consecutive flags at ``flags``: each
    non-empty piece, or an oversize count for one too long to be a frame even escaped."""
    limit = 2 * deframer.max_frame + 4
    raws = []
    for start, end in pairwise(flags):
        if end - start - 1 > limit:
            deframer.stats.oversize += 1
        elif end > start + 1:
            raws.append(data[start + 1 : end])
    return raws
