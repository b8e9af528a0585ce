"""The engine's data path (send_packets, the packets list, the raw-frame decoder) against the
general framing it short-cuts: same octets understood by both, same refusals, same counters."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from openras.ppp import PacketReceived, PppEngine
from openras.ppp.fcs import fcs16
from openras.ppp.hdlc import FCS_ESCAPED_ACCM0, Deframer, encode_frame, escape

from .pairing import Link, client_config, of_type, server_config

IPV6_PACKET = bytes.fromhex("6000000000003b40") + bytes(15) + b"\x01" + bytes(15) + b"\x02"


def up(**cli: object) -> Link:
    link = Link(PppEngine(client_config(ipv6=False, **cli)), PppEngine(server_config(None)))
    link.start()
    assert link.a.is_running and link.b.is_running
    return link


def packet_with_escaped_fcs(header: bytes) -> bytes:
    """An IPv4 packet whose FCS (after ``header``) holds a 0x7D or 0x7E octet."""
    for n in range(100_000):
        packet = b"\x45" + n.to_bytes(4, "big") + bytes(20)
        if fcs16(header + packet) in FCS_ESCAPED_ACCM0:
            return packet
    raise AssertionError("no such packet")


def test_fcs_table_is_the_escape_of_every_fcs() -> None:
    for fcs in range(0x10000):
        octets = fcs.to_bytes(2, "little")
        expected = escape(octets, 0)
        assert FCS_ESCAPED_ACCM0.get(fcs, octets) == expected


def test_batch_is_the_frames_encode_frame_makes() -> None:
    link = up()
    client = link.a
    assert client.lcp_info is not None and client._tx_accm == 0
    acfc, pfc = client.lcp_info.send_acfc, client.lcp_info.send_pfc
    header = (b"" if acfc else b"\xff\x03") + (b"\x21" if pfc else b"\x00\x21")
    packets = [
        b"\x45" + bytes(range(256)) * 4,  # every octet, 0x7D and 0x7E included
        packet_with_escaped_fcs(header),
        b"\x45\x7d\x7e\x7d\x7d\x7e\x7e",
        b"\x45" + os.urandom(1400),
    ]
    assert client.send_packets(packets) == 0
    expected = b"".join(encode_frame(0x21, p, 0, acfc, pfc) for p in packets)
    assert client.data_to_send() == expected


def test_batch_refusals_and_counters() -> None:
    link = up()
    client, server = link.a, link.b
    frames, octets = client.stats.tx_frames, client.stats.tx_octets
    batch = [
        b"\x45" + bytes(30),
        IPV6_PACKET,  # IPV6CP is off on this link
        b"",
        b"\x45" + bytes(1500),  # over the peer's MRU
        b"\x75abc",  # neither IPv4 nor IPv6
        b"\x45\x7e" + bytes(29),
    ]
    assert client.send_packets(batch) == 4
    wire = client.data_to_send()
    assert client.stats.tx_frames == frames + 2
    assert client.stats.tx_octets == octets + len(wire)
    server.receive_data(wire, link.now)
    got = of_type(server.events(), PacketReceived)
    assert [(p.protocol, p.data) for p in got] == [(0x21, batch[0]), (0x21, batch[5])]


def test_refused_when_not_running_or_finished() -> None:
    engine = PppEngine(client_config())
    assert engine.send_packets([b"\x45" + bytes(20)] * 3) == 3
    assert engine.data_to_send() == b""
    link = up()
    link.a.close(link.now)
    assert link.a.send_packets([b"\x45" + bytes(20)]) == 1


def test_packets_list_replaces_events() -> None:
    link = up()
    client, server = link.a, link.b
    server.packets = []
    packets = [b"\x45" + os.urandom(200) for _ in range(50)]
    assert client.send_packets(packets) == 0
    wire = client.data_to_send()
    received = server.stats.rx_packets
    for i in range(0, len(wire), 997):  # frames split anywhere by the transport
        server.receive_data(wire[i : i + 997], link.now)
    assert server.packets == packets
    assert server.stats.rx_packets == received + 50
    assert not of_type(server.events(), PacketReceived)
    server.packets = None  # back to one PacketReceived event each
    assert client.send_packets(packets[:1]) == 0
    server.receive_data(client.data_to_send(), link.now)
    assert [p.data for p in of_type(server.events(), PacketReceived)] == packets[:1]


def test_after_the_link_goes_down_no_packet_is_delivered() -> None:
    link = up()
    client, server = link.a, link.b
    server.packets = []
    assert client.send_packets([b"\x45" + bytes(20)]) == 0
    wire = client.data_to_send()
    server.close(link.now)  # LCP Terminate-Request: IPCP down at once
    server.receive_data(wire, link.now)
    assert server.packets == []


@settings(max_examples=200, deadline=None)
@given(
    packets=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=8),
    cut=st.integers(min_value=1, max_value=700),
)
def test_raw_frames_agree_with_the_frame_by_frame_decoder(packets: list[bytes], cut: int) -> None:
    wire = b"".join(encode_frame(0x21, b"\x45" + p, 0, True, True) for p in packets)
    wire = b"noise" + wire + b"\x7e\x7e" + wire[:-1]  # garbage first, an unfinished frame last
    whole = Deframer(rx_accm=0)
    pieces = Deframer(rx_accm=0)
    expected = [(f.protocol, f.info) for f in whole.feed(wire)]
    got = []
    for i in range(0, len(wire), cut):
        for raw in pieces.raw_frames(wire[i : i + cut]):
            frame = pieces.decode(raw)
            if frame is not None:
                got.append(frame)
    assert got == expected == [(0x21, b"\x45" + p) for p in packets * 2][: len(expected)]
    assert len(expected) == 2 * len(packets) - 1
    assert pieces.stats == whole.stats


def test_bad_frames_among_packets_are_counted_as_the_decoder_counts_them() -> None:
    link = up()
    client, server = link.a, link.b
    server.packets = []
    good = [b"\x45" + bytes([n]) * 40 for n in range(3)]
    bad = [
        b"\x7e\xff\x03" + fcs16(b"\xff\x03").to_bytes(2, "little") + b"\x7e",  # no protocol
        b"\x7e\x21\x45\x00\x00\x00\x7e",  # wrong FCS
        b"\x7e\x21\x7d\x7e",  # aborted
        b"\x7e\x02" + fcs16(b"\x02").to_bytes(2, "little") + b"\x7e",  # too short
        encode_frame(0x20, b"\x45" + bytes(10), 0),  # an even protocol number
    ]
    wire = b""
    for packet, junk in zip(good, bad, strict=False):
        assert client.send_packets([packet]) == 0
        wire += client.data_to_send() + junk
    wire += b"".join(bad[len(good) :])
    before = server.stats.framing.__dict__.copy()
    server.receive_data(wire, link.now)
    assert server.packets == good
    after = server.stats.framing.__dict__
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert changed == {
        "frames": 3,
        "octets": len(wire),
        "bad_header": 2,
        "bad_fcs": 1,
        "aborted": 1,
        "too_short": 1,
    }
