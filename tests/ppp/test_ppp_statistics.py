"""RAS_STATS of a PPP link from the engine's counters: two engines paired in memory, then
damaged frames from the line, each counted in its RAS_STATS error field."""

from __future__ import annotations

from openras.ppp import PppEngine
from openras.ppp.hdlc import FLAG, encode_frame
from openras.ras.devices.ppp_statistics import link_statistics

from .pairing import Link, client_config, server_config


def test_counters_of_a_paired_link_and_damaged_frames() -> None:
    a, b = PppEngine(client_config()), PppEngine(server_config(method=None))
    link = Link(a, b).start().pump()
    assert a.ipcp_info is not None  # both ends up
    clean = link_statistics(a.stats, bps=115200)
    assert clean.dwFramesXmited == a.stats.tx_frames > 0
    assert clean.dwFramesRcved == b.stats.tx_frames  # every frame b sent arrived whole
    assert clean.dwBytesRcved == b.stats.tx_octets
    assert (clean.dwCrcErr, clean.dwFramingErr, clean.dwBufferOverrunErr) == (0, 0, 0)
    assert clean.dwBps == 115200

    bad_fcs = bytearray(encode_frame(0x0021, b"\x45" + b"x" * 30))
    bad_fcs[-3] ^= 0x01  # the first FCS octet: flipping the last can make it 7D
    aborted = bytes([FLAG]) + b"\xff\x03\x00\x21abc\x7d" + bytes([FLAG])
    short = bytes([FLAG, 0x21, FLAG])
    oversize = encode_frame(0x0021, b"\x45" + b"y" * 4000)
    for wire in (bytes(bad_fcs), aborted, short, oversize):
        a.receive_data(wire, link.now)
    stats = link_statistics(a.stats)
    assert stats.dwCrcErr == 1
    assert stats.dwFramingErr == 2  # the aborted and the too-short frame
    assert stats.dwBufferOverrunErr == 1
    assert stats.dwFramesRcved == clean.dwFramesRcved  # none of them counted as a frame
    assert stats.dwBytesRcved > clean.dwBytesRcved + 4000
