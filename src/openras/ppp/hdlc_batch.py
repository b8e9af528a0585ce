"""HDLC framing of whole batches under ACCM 0: the data path's fast versions of
``Deframer.raw_frames`` + ``decode_packets`` and of ``send_packets``' per-packet framing.

Per packet, C-speed work that does not depend on the frame is done once for a whole TCP read
or TUN batch: NumPy finds every flag and escape of a read in one vector scan, the escapes are
removed with one memchr-driven ``bytes.replace`` and the escaped octets fixed with one indexed
XOR; the FCS (fastcrc) and the copying out of each packet run in C iterators (``map``), with no
Python bytecode per frame. Sending, each packet is escaped with two one-octet replaces and the
batch joined once. (Two-octet searches — ``bytes.replace(b"\\x7d\\x5e", …)``, ``split``
on a pair — scan octet by octet and cost about 1 ns an octet; one-octet ones use memchr.)

Anything unusual — an abort, a 0x7D escaping a 0x7D, a control protocol's frame, a bad FCS,
header or size — ends the fast run: that frame and every later one of the read go back to the
caller as raw escaped frames for the exact path (``Deframer.decode`` one by one), in order, so
a change of the receive ACCM by LCP applies to the very next frame.

NumPy is imported on first use (``preload`` lets the link do it off the event loop).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from itertools import chain, pairwise, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from .fcs import crc16_sdlc as _crc
from .hdlc import FCS_ESCAPED_ACCM0, GOOD_FCS, Deframer, decode_body, unescape

if TYPE_CHECKING:
    import numpy

VECTOR_MIN = 32768  # shorter reads: the per-frame path is faster (NumPy costs ~100 µs a call)

_FLAG = b"\x7e"
_ESC = b"\x7d"
_first_octet = itemgetter(0)
_np: Any = None
_local = threading.local()


def preload() -> None:
    """Import NumPy (about 0.1 s, once per process), from a worker thread: until then
    ``vector_ready`` is False and reads take the per-frame path."""
    global _np
    if _np is None:
        import numpy

        _np = numpy


def vector_ready() -> bool:
    return _np is not None


def _numpy() -> Any:
    if _np is None:
        preload()
    return _np


# -- sending ------------------------------------------------------------------------------------


def encode_batch(packets: list[bytes], prefix: bytes, prefix_fcs: int) -> bytes:
    """Frames of ``packets`` (one network protocol, every one non-empty) under ACCM 0: flag,
    ``prefix`` (address/control and protocol, as sent: no 0x7D or 0x7E in it), escaped packet,
    escaped FCS, flag — octet for octet what ``encode_frame`` makes of each."""
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
    if not packets or not min(map(len, packets)):
        return 0
    firsts = bytes(map(_first_octet, packets))
    low, high = min(firsts) >> 4, max(firsts) >> 4
    return low if low == high and low in (4, 6) else 0


# -- receiving ----------------------------------------------------------------------------------


def decode_read(
    deframer: Deframer, data: bytes, protocols: Collection[int], packets: list[bytes]
) -> list[bytes]:
    """Feed one read to ``deframer`` (its ``rx_accm`` must be 0): the information of every
    leading good frame of ``protocols`` is appended to ``packets`` and counted; the raw
    (escaped) contents of the frames from the first other one on are returned, in order, for
    ``deframer.decode`` — what ``raw_frames`` would have returned for them.
    """
    first = data.find(_FLAG)
    last = data.rfind(_FLAG)
    if first == last:  # no flag, or no whole frame after the first one: nothing to vectorise
        return deframer.raw_frames(data)
    np = _numpy()
    octets = np.frombuffer(data, np.uint8)
    work, mask = _scratch(np, len(data))
    # 0x7D and 0x7E are the octets x with (x + 0x83) mod 256 < 2, found in one scan of the
    # scratch arrays (warm memory: no fresh pages for each read).
    size = last + 1 - first
    np.add(octets[first : last + 1], np.uint8(0x83), out=work[:size])
    special = np.flatnonzero(np.less(work[:size], 2, out=mask[:size]))
    special += first
    is_flag = octets[special] == 0x7E
    flag_at = np.flatnonzero(is_flag)  # the flags' places among the special octets
    escapes = special[~is_flag]
    if escapes.size and (octets[escapes + 1].view(np.int8) > 124).any():
        # 7D 7E (an abort) or 7D 7D (an escaped 0x7D's 0x7D), or a 7D 7F we need not
        # tell apart: the exact path, for the whole read.
        return deframer.raw_frames(data)
    flags = special[flag_at]
    raws = deframer.read_ends(data, first, last)
    stats = deframer.stats
    if raws:  # the frame the read's first flag ends
        info = _data_frame(deframer, raws[0], protocols)
        if info is None:  # the exact path decides, and everything after it waits its turn
            return raws + _raw_frames_between(deframer, data, flags.tolist())
        packets.append(info)
        stats.frames += 1
    # Unescape the whole read: drop every 0x7D (memchr), then XOR the octet after each.
    head_escapes = data.count(_ESC, 0, first)  # in the unfinished frame the read began with
    plain_octets = data.replace(_ESC, b"")
    fixed = work[: len(plain_octets)]
    if escapes.size:
        # Fixed in the scratch buffer (warm memory: no fresh pages for each read).
        fixed[:] = np.frombuffer(plain_octets, np.uint8)
        fixed[escapes - (head_escapes + np.arange(escapes.size))] ^= 0x20
        view = memoryview(fixed)
    else:
        view = memoryview(plain_octets)
    # A flag's place in the unescaped octets: its own, less the escapes before it.
    plain_flags = flags - (head_escapes - np.arange(flags.size)) - flag_at
    starts = plain_flags[:-1] + 1
    ends = plain_flags[1:]
    raw_starts = flags[:-1]
    whole = ends > starts  # back-to-back flags between frames hold nothing
    if not whole.all():
        starts, ends, raw_starts = starts[whole], ends[whole], raw_starts[whole]
    count = starts.size
    if not count:
        return []
    run, header = _good_run(np, view, starts, ends, deframer.max_frame, protocols)
    if isinstance(header, int):  # one header for all: the data path's case
        # Copy each packet out, then check the FCS over it, from the header's FCS on: each
        # frame is touched twice, by the copy and by the CRC.
        fcs_at = ends[:run] - 2
        slices = map(slice, (starts[:run] + header).tolist(), fcs_at.tolist())
        infos = list(map(bytes, map(view.__getitem__, slices)))
        s0 = int(starts[0])
        computed = list(map(_crc, infos, repeat(_crc(view[s0 : s0 + header]))))
        octets = np.frombuffer(view, np.uint8)
        sent = (octets[fcs_at + 1].astype(np.uint16) << 8 | octets[fcs_at]).tolist()
        if computed != sent:
            run = next(i for i, (a, b) in enumerate(zip(computed, sent, strict=True)) if a != b)
            del infos[run:]
        packets += infos
    else:
        start_list = starts[:run].tolist()
        end_list = ends[:run].tolist()
        # The FCS of each frame of the run, in C; the run ends at the first failure.
        fcss = list(map(_crc, map(view.__getitem__, map(slice, start_list, end_list))))
        if fcss.count(GOOD_FCS) != run:
            run = next(i for i, fcs in enumerate(fcss) if fcs != GOOD_FCS)
            del start_list[run:], end_list[run:]
        info_starts = map(int.__add__, start_list, header[:run].tolist())
        info_ends = map(int.__sub__, end_list, repeat(2))
        packets += map(bytes, map(view.__getitem__, map(slice, info_starts, info_ends)))
    stats.frames += run
    if run == count:
        return []
    # The rest, raw, for the exact path.
    return _raw_frames_between(deframer, data, flags[flags >= raw_starts[run]].tolist())


def _scratch(np: Any, size: int) -> tuple[Any, Any]:
    """This thread's work arrays, at least ``size`` long: reused, so a read touches no fresh
    pages (a new 200 KB array costs more in page faults than the pass over it)."""
    arrays: tuple[Any, Any] | None = getattr(_local, "arrays", None)
    if arrays is None or arrays[0].size < size:
        size = max(size, 1 << 18)
        arrays = _local.arrays = (np.empty(size, np.uint8), np.empty(size, np.bool_))
    return arrays


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


def _data_frame(deframer: Deframer, raw: bytes, protocols: Collection[int]) -> bytes | None:
    """The information of ``raw`` if it is a good frame of ``protocols`` (not counted), else
    None: the exact path is to count and handle it."""
    if raw[-1] == 0x7D:
        return None
    body = unescape(raw) if _ESC in raw else raw
    size = len(body)
    if size < 4 or size > deframer.max_frame or _crc(body) != GOOD_FCS:
        return None
    start = 2 if body[0] == 0xFF and body[1] == 0x03 else 0
    end = size - 2
    if start >= end:
        return None
    protocol = body[start]
    if protocol & 1:
        start += 1
    elif end - start < 2 or not body[start + 1] & 1:
        return None
    else:
        protocol = protocol << 8 | body[start + 1]
        start += 2
    return body[start:end] if protocol in protocols else None


def _good_run(
    np: Any,
    plain: memoryview,
    starts: numpy.ndarray[Any, Any],
    ends: numpy.ndarray[Any, Any],
    max_frame: int,
    protocols: Collection[int],
) -> tuple[int, int | numpy.ndarray[Any, Any]]:
    """For unescaped frames plain[starts:ends] (FCS included): how many leading ones have a
    size and a header ``Deframer.decode`` accepts, with a protocol of ``protocols``, and the
    length of their headers (address/control and protocol fields, compressed or not): one
    number when every frame has the same header, as on a data path, else one per frame."""
    sizes = ends - starts
    count = sizes.size
    octets = np.frombuffer(plain, np.uint8)
    smallest = int(sizes.min())
    if smallest >= 4 and sizes.max() <= max_frame:
        # The usual case: every frame has the first one's header (checked octet by octet).
        s0 = int(starts[0])
        first = decode_body(bytes(plain[s0 : s0 + 4]))
        if first is not None and first[0] in protocols:
            length = 4 - len(first[1])
            if smallest >= length + 2 and all(
                (octets[starts + i] == plain[s0 + i]).all() for i in range(length)
            ):
                return count, length
    last = octets.size - 1
    # Frames of 4 octets or more have their first 4 in range; shorter ones fail the size test.
    at = np.minimum(starts, last)
    b0 = octets[at].astype(np.intp)
    b1 = octets[np.minimum(at + 1, last)]
    address = (b0 == 0xFF) & (b1 == 0x03)
    offset = np.where(address, 2, 0)
    p0 = octets[np.minimum(at + offset, last)].astype(np.intp)
    p1 = octets[np.minimum(at + offset + 1, last)].astype(np.intp)
    short = p0 & 1  # a compressed one-octet protocol field
    protocol = np.where(short == 1, p0, p0 << 8 | p1)
    room = sizes - 2 - offset  # octets for the protocol and information
    header_ok = (room > 0) & ((short == 1) | ((room >= 2) & (p1 & 1 == 1)))
    wanted = np.isin(protocol, np.fromiter(protocols, np.intp))
    good = (sizes >= 4) & (sizes <= max_frame) & header_ok & wanted
    run = count if good.all() else int(np.argmin(good))
    return run, offset + 2 - short
