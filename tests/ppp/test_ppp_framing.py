"""RFC 1662 framing: FCS, escaping under an ACCM, ACFC/PFC, and a robust deframer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from openras.ppp.fcs import append_fcs, check_fcs, fcs16
from openras.ppp.hdlc import Deframer, decode_body, encode_frame, escape, unescape


def test_fcs_check_value() -> None:
    assert fcs16(b"123456789") == 0x906E  # CRC-16/X.25 check value


def test_fcs_is_not_crc_hqx() -> None:
    import binascii

    assert binascii.crc_hqx(b"123456789", 0xFFFF) != fcs16(b"123456789")


def test_fcs_append_and_check() -> None:
    framed = append_fcs(b"\xff\x03\xc0\x21\x01\x01\x00\x04")
    assert check_fcs(framed)
    assert not check_fcs(framed[:-1] + bytes([framed[-1] ^ 1]))
    assert not check_fcs(b"\x00")


def test_known_lcp_frame_bytes() -> None:
    # An empty LCP Configure-Request, id 1, with every control character escaped.
    frame = encode_frame(0xC021, b"\x01\x01\x00\x04")
    assert frame[0] == frame[-1] == 0x7E
    body = unescape(frame[1:-1])
    assert body[:-2] == b"\xff\x03\xc0\x21\x01\x01\x00\x04"
    assert check_fcs(body)
    # 0x01, 0x00 and 0x04 are below 0x20 and must be escaped under the default ACCM.
    assert b"\x7d\x21\x7d\x21\x7d\x20\x7d\x24" in frame


def test_escape_always_flag_and_escape() -> None:
    assert escape(b"\x7e\x7d\x01", accm=0) == b"\x7d\x5e\x7d\x5d\x01"
    assert escape(b"\x11\x13\x01", accm=0x000A0000) == b"\x7d\x31\x7d\x33\x01"
    assert escape(bytes(range(32)), accm=0xFFFFFFFF) == b"".join(
        bytes((0x7D, c ^ 0x20)) for c in range(32)
    )


def test_acfc_and_pfc_on_send() -> None:
    full = unescape(encode_frame(0x0021, b"\x45", accm=0)[1:-1])[:-2]
    assert full == b"\xff\x03\x00\x21\x45"
    compressed = unescape(encode_frame(0x0021, b"\x45", accm=0, acfc=True, pfc=True)[1:-1])[:-2]
    assert compressed == b"\x21\x45"
    # Protocols above 0xFF cannot be compressed.
    lcp = unescape(encode_frame(0xC021, b"\x09", accm=0, acfc=True, pfc=True)[1:-1])[:-2]
    assert lcp == b"\xc0\x21\x09"


def test_compressed_headers_always_accepted() -> None:
    assert decode_body(b"\xff\x03\x00\x21abc") == (0x21, b"abc")
    assert decode_body(b"\x21abc") == (0x21, b"abc")
    assert decode_body(b"\x00\x21abc") == (0x21, b"abc")
    assert decode_body(b"\xc0\x21\x01") == (0xC021, b"\x01")
    assert decode_body(b"\x00\x20abc") is None  # an even protocol number is invalid
    assert decode_body(b"") is None


def test_deframer_whole_frames() -> None:
    d = Deframer()
    wire = encode_frame(0xC021, b"\x09\x01\x00\x08abcd") + encode_frame(0x0021, b"\x45\x00")
    frames = d.feed(wire)
    assert [(f.protocol, f.info) for f in frames] == [
        (0xC021, b"\x09\x01\x00\x08abcd"),
        (0x0021, b"\x45\x00"),
    ]
    assert d.stats.frames == 2


@settings(max_examples=300, deadline=None)
@given(
    payloads=st.lists(st.binary(min_size=1, max_size=60), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    accm=st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]),
    compress=st.booleans(),
)
def test_deframer_any_split(
    payloads: list[bytes], cuts: list[int], accm: int, compress: bool
) -> None:
    wire = b"".join(encode_frame(0x0021, p, accm, compress, compress) for p in payloads)
    points = sorted({min(c, len(wire)) for c in cuts})
    pieces = [wire[i:j] for i, j in zip([0, *points], [*points, len(wire)], strict=True)]
    d = Deframer(rx_accm=accm)
    got = [f for piece in pieces for f in d.feed(piece)]
    assert [(f.protocol, f.info) for f in got] == [(0x0021, p) for p in payloads]


def test_deframer_drops_and_counts() -> None:
    d = Deframer(max_frame=100)
    good = encode_frame(0x0021, b"ok")
    bad_fcs = bytearray(encode_frame(0x0021, b"xx"))
    bad_fcs[-2] ^= 0x01  # flip a bit of the (unescaped) last FCS octet
    wire = (
        b"garbage before sync"
        + good
        + bytes(bad_fcs)
        + b"\x7e\x41\x42\x7e"  # too short
        + encode_frame(0x0021, bytes(200), accm=0)  # oversize
        + b"\x7eabc\x7d\x7e"  # aborted
        + good
    )
    frames = d.feed(wire)
    assert [f.info for f in frames] == [b"ok", b"ok"]
    s = d.stats
    assert s.garbage_octets == len(b"garbage before sync")
    assert (s.bad_fcs, s.too_short, s.oversize, s.aborted) == (1, 1, 1, 1)


def test_deframer_oversize_is_bounded_in_memory() -> None:
    d = Deframer(max_frame=100)
    d.feed(b"\x7e" + b"A" * 100_000)
    assert len(d._raw) <= 2 * 100 + 4
    assert d.feed(b"\x7e") == []
    assert d.stats.oversize == 1
    assert [f.info for f in d.feed(encode_frame(0x21, b"z"))] == [b"z"]


def test_rx_accm_drops_unescaped_control_characters() -> None:
    # XON/XOFF inserted by a modem in the middle of a frame vanish; escaped ones survive.
    frame = encode_frame(0x0021, b"\x11data\x13", accm=0x000A0000)
    noisy = frame[:5] + b"\x11" + frame[5:9] + b"\x13" + frame[9:]
    d = Deframer(rx_accm=0x000A0000)
    assert [f.info for f in d.feed(noisy)] == [b"\x11data\x13"]
    # With an ACCM of 0 the same octets are data, so the FCS fails.
    d0 = Deframer(rx_accm=0)
    assert d0.feed(noisy) == []
    assert d0.stats.bad_fcs == 1


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([0, 0xFFFFFFFF]))
def test_deframer_random_bytes(data: bytes, accm: int) -> None:
    d = Deframer(rx_accm=accm)
    for frame in d.feed(data):
        assert 0 < frame.protocol <= 0xFFFF


@settings(max_examples=400, deadline=None)
@given(
    payload=st.binary(max_size=80),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
)
def test_deframer_mutated_frames(payload: bytes, edits: list[tuple[int, int]]) -> None:
    wire = bytearray(encode_frame(0xC021, payload) + encode_frame(0x21, payload))
    for pos, value in edits:
        wire[pos % len(wire)] = value
    d = Deframer()
    d.feed(bytes(wire))
    d.feed(bytes(wire))
    total = d.stats
    assert total.frames <= 4
