"""The whole-read decoder and whole-batch framing (``hdlc_batch``, C in ``_hdlc``) against the
frame-by-frame reference (``Deframer.raw_frames`` + ``decode``, ``encode_frame``): the same
packets and other frames in the same order, the same counters, for reads cut anywhere, with
garbage, aborts, bad FCS, short, oversize and bad-header frames, control frames among data, and
an ACCM change by LCP in the middle of a read; and the C module's own checks of what it is
given."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openras.ppp import PacketReceived, PppEngine, hdlc_batch
from openras.ppp import _hdlc as c_framing  # built by install.sh (gcc, python3-dev)
from openras.ppp import constants as c
from openras.ppp.fcs import crc16_sdlc, fcs16
from openras.ppp.hdlc import Deframer, encode_frame, escape

from .pairing import Link, client_config, of_type, server_config

SPECIAL = [0x7D, 0x7E, 0x7F, 0x00, 0x11, 0x13, 0x1F, 0x20, 0x5D, 0x5E, 0xFF, 0x03, 0x21]
# Payloads rich in the octets that matter (flags, escapes, control characters, header octets).
payloads = st.binary(max_size=1600) | st.lists(st.sampled_from(SPECIAL), max_size=300).map(bytes)
DATA = {c.PROTO_IPV4: None, c.PROTO_IPV6: None}  # the protocols of the data path


def frame_of(kind: str, payload: bytes, acfc: bool, pfc: bool) -> bytes:
    packet = b"\x45" + payload
    if kind == "ipv4":
        return encode_frame(c.PROTO_IPV4, packet, 0, acfc, pfc)
    if kind == "ipv6":
        return encode_frame(c.PROTO_IPV6, b"\x60" + payload, 0, acfc, pfc)
    if kind == "lcp":
        return encode_frame(c.PROTO_LCP, bytes([c.ECHO_REQ, 7, 0, 8]) + payload[:4].ljust(4, b"\0"))
    if kind == "bad_fcs":
        body = b"\x21" + packet
        wrong = (fcs16(body) ^ 0x0101).to_bytes(2, "little")
        return b"\x7e" + escape(body + wrong, 0) + b"\x7e"
    if kind == "abort":
        return b"\x7e\x21\x45" + escape(payload[:20], 0) + b"\x7d\x7e"
    if kind == "short":
        return b"\x7e\x02" + fcs16(b"\x02").to_bytes(2, "little") + b"\x7e"
    if kind == "no_protocol":
        return b"\x7e\xff\x03" + fcs16(b"\xff\x03").to_bytes(2, "little") + b"\x7e"
    if kind == "even_protocol":
        return encode_frame(0x20, packet, 0)
    if kind == "oversize":
        return encode_frame(c.PROTO_IPV4, packet + bytes(1600), 0, acfc, pfc)
    if kind == "oversize_abort":  # too long even escaped, and aborted: counted oversize
        return b"\x7e\x21" + bytes(3100) + payload.replace(b"\x7e", b"") + b"\x7d\x7e"
    if kind == "escaped_5d":  # 7D 7D: 0x5D escaped by its own 0x7D (odd, but the rule)
        body = b"\x21\x45\x5d" + payload
        body += fcs16(body).to_bytes(2, "little")
        out = bytearray(b"\x7e")
        for octet in body:
            out += bytes((0x7D, octet ^ 0x20)) if octet in (0x7D, 0x7E, 0x5D) else bytes((octet,))
        return bytes(out + b"\x7e")
    if kind == "odd_escape":  # 7D 31: an escaped 0x11 under ACCM 0 (allowed: any octet may be)
        return encode_frame(c.PROTO_IPV4, b"\x45\x11" + payload, 0xFFFFFFFF, acfc, pfc)
    raise AssertionError(kind)


KINDS = (
    ["ipv4"] * 8
    + ["ipv6"] * 2
    + [
        "lcp",
        "bad_fcs",
        "abort",
        "short",
        "no_protocol",
        "even_protocol",
        "oversize",
        "odd_escape",
        "escaped_5d",
    ]
)

frames = st.lists(
    st.tuples(st.sampled_from(KINDS), payloads, st.booleans(), st.booleans()),
    min_size=1,
    max_size=24,
)


def reference(deframer: Deframer, reads: list[bytes]) -> list[tuple[Any, bytes]]:
    out: list[tuple[Any, bytes]] = []
    for read in reads:
        for raw in deframer.raw_frames(read):
            frame = deframer.decode(raw)
            if frame is not None:
                out.append(("data", frame[1]) if frame[0] in DATA else frame)
    return out


def batched(deframer: Deframer, reads: list[bytes]) -> list[tuple[Any, bytes]]:
    out: list[tuple[Any, bytes]] = []
    for read in reads:
        packets: list[bytes] = []
        rest = hdlc_batch.decode_read(deframer, read, DATA, packets)
        out += [("data", p) for p in packets]
        for raw in rest:  # what the engine's loop does with them
            frame = deframer.decode(raw)
            if frame is not None:
                out.append(("data", frame[1]) if frame[0] in DATA else frame)
    return out


def cut(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({p % (len(wire) + 1) for p in cuts} | {0, len(wire)})
    return [wire[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(
    frames,
    st.binary(max_size=40),
    st.lists(st.integers(0, 1 << 20), max_size=6),
    st.booleans(),
)
def test_whole_read_decoder_is_the_frame_by_frame_one(
    spec: list[tuple[str, bytes, bool, bool]], garbage: bytes, cuts: list[int], single: bool
) -> None:
    made = [frame_of(*item) for item in spec]
    if single:  # one flag between frames, as other peers send them
        made = [f[:-1] for f in made]
    wire = garbage.replace(b"\x7e", b"") + b"".join(made) + b"\x7e" + made[0][:-1]
    reads = cut(wire, cuts)
    ref, fast = Deframer(rx_accm=0), Deframer(rx_accm=0)
    assert batched(fast, reads) == reference(ref, reads)
    assert fast.stats == ref.stats
    assert fast._raw == ref._raw and fast._synced == ref._synced


@settings(max_examples=200, deadline=None)
@given(st.lists(payloads.map(lambda p: b"\x45" + p), min_size=2, max_size=40))
def test_a_read_of_data_frames_is_decoded_at_once(packets: list[bytes]) -> None:
    wire = b"".join(encode_frame(c.PROTO_IPV4, p, 0, True, True) for p in packets)
    deframer = Deframer(rx_accm=0)
    got: list[bytes] = []
    assert hdlc_batch.decode_read(deframer, wire, DATA, got) == []
    assert got == packets
    assert deframer.stats.frames == len(packets) and deframer.stats.octets == len(wire)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(payloads.filter(bool), min_size=1, max_size=20),
    st.sampled_from([b"", b"\xff\x03"]),
    st.sampled_from([b"\x21", b"\x00\x21", b"\x57", b"\x00\x57"]),
    st.booleans(),
)
def test_batch_framing_is_encode_frame_of_each(
    packets: list[bytes], address: bytes, protocol: bytes, in_c: bool
) -> None:
    prefix = address + protocol
    expected = b"".join(
        encode_frame(int.from_bytes(protocol, "big"), p, 0, not address, len(protocol) == 1)
        for p in packets
    )
    # The C framing, and the Python one a package built without a compiler uses.
    with pytest.MonkeyPatch.context() as patch:
        if not in_c:
            patch.setattr(hdlc_batch, "_c", None)
        assert hdlc_batch.encode_batch(packets, prefix, crc16_sdlc(prefix)) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(payloads, max_size=12),
    st.sampled_from([0, 0xFFFFFFFF, 0x000A0000, 0x80000001]),
    st.sampled_from([b"", b"\x21", b"\xff\x03\x00\x21", b"\xff\x03\xc0\x21"]),
)
def test_c_framing_escapes_what_the_accm_asks(
    packets: list[bytes], accm: int, prefix: bytes
) -> None:
    """Under any ACCM, from bytes, bytearrays and memoryviews alike: prefix, packet and FCS
    escaped as ``escape`` does."""
    expected = b"".join(
        b"\x7e" + escape(prefix + p + fcs16(prefix + p).to_bytes(2, "little"), accm) + b"\x7e"
        for p in packets
    )
    kinds = [bytes, bytearray, lambda p: memoryview(bytes(p))]
    mixed = [kinds[i % 3](p) for i, p in enumerate(packets)]
    assert c_framing.encode_frames(mixed, prefix, accm) == expected


def test_c_framing_refuses_what_it_cannot_take() -> None:
    """Wrong arguments are errors, never a read outside the buffer."""
    wire = encode_frame(0x21, b"\x45abc", 0, True, True)
    out: list[bytes] = []
    with pytest.raises(TypeError):
        c_framing.encode_frames([b"ok", 7], b"\x21", 0)
    with pytest.raises(TypeError):
        c_framing.encode_frames(None, b"\x21", 0)
    with pytest.raises(ValueError):
        c_framing.encode_frames([b"ok"], bytes(65), 0)
    for first, last in [(-1, len(wire) - 1), (0, len(wire)), (0, 3), (5, 0), (1, len(wire) - 1)]:
        with pytest.raises(ValueError):
            c_framing.decode_frames(wire, first, last, (0x21,), 1500, out)
    with pytest.raises(ValueError):
        c_framing.decode_frames(wire, 0, len(wire) - 1, (0x21,), 3, out)
    with pytest.raises(ValueError):
        c_framing.decode_frames(wire, 0, len(wire) - 1, tuple(range(17)), 1500, out)
    with pytest.raises(TypeError):
        c_framing.decode_frames(wire, 0, len(wire) - 1, (0x21,), 1500, ())
    with pytest.raises(TypeError):
        c_framing.decode_frames(wire, 0, len(wire) - 1, ("x",), 1500, out)
    with pytest.raises(TypeError):  # bytes only: a bytearray could change under the scan
        c_framing.decode_frames(bytearray(wire), 0, len(wire) - 1, (0x21,), 1500, out)  # type: ignore[arg-type]
    assert out == []
    assert c_framing.decode_frames(wire, 0, len(wire) - 1, (0x21,), 1500, out) == (
        len(wire) - 1,
        1,
    )
    assert out == [b"\x45abc"]


@settings(max_examples=300, deadline=None)
@given(payloads, st.integers(4, 1600))
def test_c_decoder_stops_where_the_exact_path_must_take_over(junk: bytes, max_frame: int) -> None:
    """Any octets between two flags: each frame the C decoder keeps is one ``decode`` keeps as
    a data frame, and it stops at the first it does not keep."""
    wire = b"\x7e" + junk + b"\x7e"
    out: list[bytes] = []
    stop, count = c_framing.decode_frames(wire, 0, len(wire) - 1, (0x21, 0x57), max_frame, out)
    assert count == len(out) and wire[stop] == 0x7E
    deframer = Deframer(max_frame=max_frame, rx_accm=0)
    kept = []
    for raw in deframer.raw_frames(wire[: stop + 1]):
        frame = deframer.decode(raw)
        assert frame is not None and frame[0] in (0x21, 0x57)
        kept.append(frame[1])
    assert kept == out
    rest = [f for f in deframer.raw_frames(wire[stop:]) if f]
    if stop != len(wire) - 1:  # the frame it left is one the exact path does not keep as data
        frame = Deframer(max_frame=max_frame, rx_accm=0).decode(rest[0]) if rest else None
        assert frame is None or frame[0] not in (0x21, 0x57)


def test_batch_version() -> None:
    v4, v6 = b"\x45" + bytes(20), b"\x60" + bytes(39)
    assert hdlc_batch.batch_version([v4, v4]) == 4
    assert hdlc_batch.batch_version([v6]) == 6
    assert hdlc_batch.batch_version([v4, v6]) == 0
    assert hdlc_batch.batch_version([v4, b""]) == 0
    assert hdlc_batch.batch_version([b"\x75abc"]) == 0
    assert hdlc_batch.batch_version([]) == 0


# -- engines ------------------------------------------------------------------------------------


def twin_links() -> tuple[Link, Link]:
    """Two identical links (seeded): one server decodes with the whole-read path, one without."""
    links = []
    for _ in range(2):
        link = Link(PppEngine(client_config(ipv6=False)), PppEngine(server_config(None)))
        link.start()
        assert link.a.is_running and link.b.is_running
        links.append(link)
    return links[0], links[1]


def feed(
    monkeypatch: pytest.MonkeyPatch, engine: PppEngine, reads: list[bytes], vector: bool
) -> tuple[list[bytes], list[Any], bytes, Any]:
    monkeypatch.setattr(hdlc_batch, "c_framing", lambda: vector)
    engine.packets = []
    for read in reads:
        engine.receive_data(read, 0.0)
    packets = engine.packets
    return packets, engine.events(), engine.data_to_send(), engine.stats


def big(n: int, fill: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    return [b"\x45" + fill(1400 + i % 99) for i in range(n)]


@pytest.mark.parametrize("cuts", [(), (5000, 40000)])
def test_engines_agree_with_control_frames_among_data(
    monkeypatch: pytest.MonkeyPatch, cuts: tuple[int, ...]
) -> None:
    one, two = twin_links()
    data = big(40)
    wire = b"".join(encode_frame(0x21, p, 0, True, True) for p in data[:25])
    # An LCP Echo-Request (answered), a frame for a protocol nobody runs (Protocol-Reject) and
    # a bad frame among the data.
    wire += encode_frame(c.PROTO_LCP, bytes([c.ECHO_REQ, 9, 0, 8]) + b"\0\0\0\0")
    wire += b"".join(encode_frame(0x21, p, 0, True, True) for p in data[25:30])
    wire += encode_frame(0x8207, b"\x01\x01\x00\x04", 0)
    wire += b"\x7e\x21\x45\x00\x7e"
    wire += b"".join(encode_frame(0x21, p, 0, True, True) for p in data[30:])
    reads = cut(wire, list(cuts))
    fast = feed(monkeypatch, one.b, reads, True)
    slow = feed(monkeypatch, two.b, reads, False)
    assert fast[0] == slow[0] == data
    assert [type(e) for e in fast[1]] == [type(e) for e in slow[1]]
    assert fast[2] == slow[2] and fast[2]  # the Echo-Reply and the Protocol-Reject
    # The same counters, but for how many packets came through the whole-read decoder: in one
    # read, the 25 before the Echo-Request (the rest of the read goes frame by frame); cut in
    # three, those 25 and the 3 to 5 that begin the last read, before the 0x8207 frame.
    assert slow[3].rx_whole_read == 0
    assert fast[3].rx_whole_read == 25 if not cuts else 28 <= fast[3].rx_whole_read <= 30
    assert replace(fast[3], rx_whole_read=0) == slow[3]


def test_engines_agree_when_lcp_changes_the_accm_mid_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Configure-Request in the middle of a read takes LCP (and with it the ACCM 0 and the
    data path) down; the frames after it are decoded under the default ACCM at once."""
    one, two = twin_links()
    data = big(40)
    request = bytes([c.CONF_REQ, 50, 0, 4])  # no options: the default ACCM again
    wire = b"".join(encode_frame(0x21, p, 0, True, True) for p in data[:25])
    wire += encode_frame(c.PROTO_LCP, request)
    # After it, frames as a peer would now send them: every control character escaped, or not.
    wire += b"".join(encode_frame(0x21, p, 0xFFFFFFFF, True, True) for p in data[25:30])
    wire += b"".join(encode_frame(0x21, p, 0, True, True) for p in data[30:])
    fast = feed(monkeypatch, one.b, [wire], True)
    slow = feed(monkeypatch, two.b, [wire], False)
    assert fast[0] == slow[0] == data[:25]
    assert one.b._deframer.rx_accm == two.b._deframer.rx_accm == c.DEFAULT_ACCM
    assert [type(e) for e in fast[1]] == [type(e) for e in slow[1]]
    assert fast[2] == slow[2]
    assert fast[3].rx_whole_read == 25 and slow[3].rx_whole_read == 0
    assert replace(fast[3], rx_whole_read=0) == slow[3]


def test_paired_engines_carry_a_bulk_transfer_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two engines in memory, the data path on both: batches framed at once, reads decoded
    at once, counters as the frame-by-frame path keeps them."""
    monkeypatch.setattr(hdlc_batch, "c_framing", lambda: True)
    link = Link(PppEngine(client_config(ipv6=False)), PppEngine(server_config(None))).start()
    client, server = link.a, link.b
    client.packets, server.packets = [], []
    sent = big(300, lambda n: bytes([0x7D, 0x7E, 0x7F, 0x20]) * (n // 4))
    sent += big(300)
    wire = b""
    tx_frames, tx_octets = client.stats.tx_frames, client.stats.tx_octets
    frames, octets = server.stats.framing.frames, server.stats.framing.octets
    for i in range(0, len(sent), 64):
        assert client.send_packets(sent[i : i + 64]) == 0
        wire += client.data_to_send()
    assert wire == b"".join(encode_frame(0x21, p, 0, True, True) for p in sent)
    assert client.stats.tx_frames - tx_frames == len(sent)
    assert client.stats.tx_octets - tx_octets == len(wire)
    for i in range(0, len(wire), 65536):
        server.receive_data(wire[i : i + 65536], link.now)
    assert server.packets == sent
    assert server.stats.rx_whole_read >= len(sent) * 9 // 10  # all but a short last read
    assert server.stats.framing.frames - frames == len(sent)
    assert server.stats.framing.octets - octets == len(wire)
    assert server.stats.rx_packets >= len(sent)
    assert not of_type(server.events(), PacketReceived)
    # And back, IPv4 answers in batches of one and many.
    answers = big(100)
    for i in range(0, 100, 50):
        assert server.send_packets(answers[i : i + 50]) == 0
    assert server.send_packets(answers[:1]) == 0
    client.receive_data(server.data_to_send(), link.now)
    assert client.packets == answers + answers[:1]


@pytest.mark.parametrize("in_c", [True, False])
def test_batches_under_a_negotiated_accm_are_escaped_as_the_peer_asked(
    monkeypatch: pytest.MonkeyPatch, in_c: bool
) -> None:
    """A peer that asked for XON/XOFF (0x11, 0x13) escaped gets them escaped in every frame of a
    batch, one packet or many, and decodes the packets back; in C, or frame by frame without it."""
    monkeypatch.setattr(hdlc_batch, "c_framing", lambda: in_c)
    xon_xoff = 0x000A0000
    link = Link(
        PppEngine(client_config(ipv6=False)),
        PppEngine(server_config(None, ipv6=False, accm=xon_xoff)),
    ).start()
    client, server = link.a, link.b
    server.packets = []
    sent = big(5, lambda n: bytes([0x11, 0x13, 0x7D, 0x7E, 0x20]) * (n // 5))
    for batch in (sent[:1], sent[1:]):
        assert client.send_packets(batch) == 0
        wire = client.data_to_send()
        expected = b"".join(encode_frame(0x21, p, xon_xoff, True, True) for p in batch)
        assert wire == expected
        assert b"\x11" not in wire and b"\x13" not in wire
        server.receive_data(wire, link.now)
    # Under a non-zero receive ACCM the server takes each frame on the exact path: events.
    received = [e.data for e in of_type(server.events(), PacketReceived)]
    assert server.packets + received == sent
