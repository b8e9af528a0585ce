"""HDLC octet escaping (RFC 1662 §4.2): the fast, scan-and-replace escape and split-based
unescape against the rule written out octet by octet, for any data and any ACCM."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from openras.ppp.hdlc import ESCAPE, FLAG, Deframer, encode_frame, escape, unescape

# Data rich in the octets that matter: flags, escapes, control characters.
octets = st.binary(max_size=3000) | st.lists(
    st.sampled_from([0x7D, 0x7E, 0x00, 0x11, 0x13, 0x1F, 0x20, 0x5D, 0x5E, 0x41]), max_size=200
).map(bytes)
accms = st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]) | st.integers(0, 0xFFFFFFFF)


def escape_by_rule(data: bytes, accm: int) -> bytes:
    out = bytearray()
    for c in data:
        if c in (FLAG, ESCAPE) or (c < 32 and accm >> c & 1):
            out += bytes((ESCAPE, c ^ 0x20))
        else:
            out.append(c)
    return bytes(out)


def unescape_by_rule(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == ESCAPE:
            if i + 1 < len(data):
                out.append(data[i + 1] ^ 0x20)
            i += 2  # a lone 0x7D at the end is dropped
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


@settings(max_examples=500)
@given(octets, accms)
def test_escape_is_the_rule_and_round_trips(data: bytes, accm: int) -> None:
    escaped = escape(data, accm)
    assert escaped == escape_by_rule(data, accm)
    assert FLAG not in escaped
    assert not any(c < 32 and accm >> c & 1 for c in escaped)
    assert unescape(escaped) == data


@settings(max_examples=500)
@given(octets)
def test_unescape_of_any_octets_is_the_rule(data: bytes) -> None:
    assert unescape(data) == unescape_by_rule(data)


@settings(max_examples=200)
@given(st.lists(st.binary(min_size=1, max_size=1500), min_size=1, max_size=8), accms)
def test_frames_round_trip_under_any_accm(packets: list[bytes], accm: int) -> None:
    wire = b"".join(encode_frame(0x0021, p, accm, True, True) for p in packets)
    deframer = Deframer(max_frame=1600, rx_accm=0)
    assert [f.info for f in deframer.feed(wire)] == packets


@settings(max_examples=500)
@given(st.binary(min_size=2, max_size=40) | st.binary(max_size=6).map(lambda b: b"\xff\x03" + b))
def test_deframer_headers_are_decode_body(body: bytes) -> None:
    """The deframer's inlined header rules give what decode_body gives, for any frame body."""
    from openras.ppp.fcs import append_fcs
    from openras.ppp.hdlc import decode_body

    deframer = Deframer(max_frame=1600, rx_accm=0)
    frames = deframer.feed(b"\x7e" + escape(append_fcs(body), 0) + b"\x7e")
    expected = decode_body(body)
    assert [(f.protocol, f.info) for f in frames] == ([expected] if expected else [])
    assert deframer.stats.bad_fcs == 0
