"""Interoperability with scapy's independent PPP codec (scapy.layers.ppp).

scapy builds and parses the PPP packet with its address/control header, but does no
octet stuffing and no FCS: those are checked here against a bit-by-bit reference FCS and a
byte-by-byte reference escaper written from RFC 1662's text, not with our own code.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from scapy.layers.ppp import (
    HDLC,
    PPP,
    PPP_IPCP,
    PPP_LCP,
    PPP_CHAP_ChallengeResponse,
    PPP_IPCP_Option_DNS1,
    PPP_IPCP_Option_IPAddress,
    PPP_LCP_ACCM_Option,
    PPP_LCP_Auth_Protocol_Option,
    PPP_LCP_Configure,
    PPP_LCP_Echo,
    PPP_LCP_Magic_Number_Option,
    PPP_LCP_MRU_Option,
    PPP_LCP_Protocol_Reject,
    PPP_LCP_Terminate,
    PPP_PAP_Request,
    PPP_PAP_Response,
)

from openras.ppp import AuthMethod, PppEngine
from openras.ppp import constants as c
from openras.ppp.hdlc import Deframer
from openras.ppp.packets import CpPacket, parse_options

from .pairing import Link, client_config, server_config
from .scripted import Peer


def reference_fcs(data: bytes) -> int:
    """RFC 1662 §C.2's algorithm, one bit at a time (reflected polynomial 0x8408)."""
    fcs = 0xFFFF
    for octet in data:
        fcs ^= octet
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def reference_stuff(body: bytes) -> bytes:
    out = bytearray(b"\x7e")
    for octet in body:
        if octet < 0x20 or octet in (0x7D, 0x7E):
            out += bytes((0x7D, octet ^ 0x20))
        else:
            out.append(octet)
    return bytes(out + b"\x7e")


def reference_unstuff(frame: bytes) -> bytes:
    assert frame[0] == frame[-1] == 0x7E
    out, escaped = bytearray(), False
    for octet in frame[1:-1]:
        if escaped:
            out.append(octet ^ 0x20)
            escaped = False
        elif octet == 0x7D:
            escaped = True
        else:
            out.append(octet)
    return bytes(out)


def test_reference_fcs_agrees() -> None:
    assert reference_fcs(b"123456789") == 0x906E


SCAPY_PACKETS = [
    PPP_LCP_Configure(
        code=1,
        id=1,
        options=[
            PPP_LCP_MRU_Option(max_recv_unit=1500),
            PPP_LCP_ACCM_Option(accm=0),
            PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC223, algorithm=0x81),
            PPP_LCP_Magic_Number_Option(magic_number=0x12345678),
        ],
    ),
    PPP_LCP_Configure(code=3, id=2, options=[PPP_LCP_Auth_Protocol_Option(auth_protocol=0xC023)]),
    PPP_LCP_Terminate(code=5, id=7, data=b"bye"),
    PPP_LCP_Echo(code=9, id=3, magic_number=0x01020304, data=b"ping"),
    PPP_LCP_Protocol_Reject(
        id=4, rejected_protocol=0x80FD, rejected_information=b"\x01\x01\x00\x04"
    ),
    PPP_IPCP(
        code=3,
        id=4,
        options=[
            PPP_IPCP_Option_IPAddress(data="10.0.2.15"),
            PPP_IPCP_Option_DNS1(data="192.0.2.53"),
        ],
    ),
    PPP_PAP_Request(id=5, username=b"alice", password=b"pw"),
    PPP_PAP_Response(code=2, id=5, message=b"Login ok"),
    PPP_CHAP_ChallengeResponse(code=1, id=6, value=b"A" * 16, optional_name=b"srv"),
    PPP_CHAP_ChallengeResponse(code=2, id=6, value=b"B" * 49, optional_name=b"alice"),
]


@pytest.mark.parametrize("layer", SCAPY_PACKETS, ids=lambda p: type(p).__name__ + str(p.code))
def test_scapy_built_frames_parse_the_same(layer) -> None:  # type: ignore[no-untyped-def]
    packet = HDLC() / PPP() / layer
    raw = bytes(packet)
    wire = reference_stuff(raw + reference_fcs(raw).to_bytes(2, "little"))
    frames = Deframer().feed(wire)
    assert len(frames) == 1
    parsed = PPP(raw[2:])
    assert frames[0].protocol == parsed.proto
    assert frames[0].info == bytes(parsed.payload)
    ours = CpPacket.decode(frames[0].info)
    assert ours is not None
    assert (ours.code, ours.identifier) == (layer.code, layer.id)
    if hasattr(layer, "options") and isinstance(layer.options, list):
        options = parse_options(ours.data)
        assert options is not None
        assert [(o.type, o.encode()) for o in options] == [
            (int(opt.type), bytes(opt)) for opt in layer.options
        ]


def test_scapy_built_frames_drive_the_engine() -> None:
    """An LCP exchange written with scapy (as slirp would send it) opens our LCP."""
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    request = peer.read_cp(c.PROTO_LCP)[0]

    def send(layer) -> None:  # type: ignore[no-untyped-def]
        raw = bytes(HDLC() / PPP() / layer)
        engine.receive_data(reference_stuff(raw + reference_fcs(raw).to_bytes(2, "little")), 0.0)

    send(PPP_LCP_Configure(code=1, id=1, options=[PPP_LCP_Magic_Number_Option(magic_number=7)]))
    send(
        PPP_LCP(
            bytes((2, request.identifier))
            + len(request.data + b"1234").to_bytes(2, "big")
            + request.data
        )
    )
    assert engine.lcp.is_opened
    assert engine.lcp_info is not None and engine.lcp_info.peer_magic == 7


def _scapy_frames(chunks: list[bytes]) -> list:
    """Split our wire output into frames, check each FCS by reference, parse with scapy."""
    parsed = []
    for chunk in chunks:
        for piece in chunk.split(b"\x7e"):
            if not piece:
                continue
            body = reference_unstuff(b"\x7e" + piece + b"\x7e")
            assert reference_fcs(body[:-2]) == int.from_bytes(body[-2:], "little")
            raw = body[:-2]
            parsed.append(HDLC(raw) if raw[:2] == b"\xff\x03" else PPP(raw))
    return parsed


@pytest.mark.parametrize("method", list(AuthMethod), ids=lambda m: m.name)
def test_our_frames_parse_in_scapy(method: AuthMethod) -> None:
    link = Link(PppEngine(client_config()), PppEngine(server_config(method))).start()
    assert link.a.is_running
    frames = _scapy_frames(link.wire_a)
    lcp_requests = [
        f for f in frames if f.haslayer(PPP_LCP_Configure) and f[PPP_LCP_Configure].code == 1
    ]
    assert lcp_requests
    opts = {int(o.type): o for o in lcp_requests[0][PPP_LCP_Configure].options}
    assert opts[1].max_recv_unit == 1500
    assert opts[2].accm == 0
    assert opts[5].magic_number == link.a.lcp_info.magic
    assert 7 in opts and 8 in opts
    # Authentication as scapy reads it.
    if method is AuthMethod.PAP:
        pap = next(f for f in frames if f.haslayer(PPP_PAP_Request))
        assert (pap[PPP_PAP_Request].username, pap[PPP_PAP_Request].password) == (
            b"alice",
            b"s3cret-pw",
        )
    else:
        chap = next(
            f
            for f in frames
            if f.haslayer(PPP_CHAP_ChallengeResponse) and f[PPP_CHAP_ChallengeResponse].code == 2
        )
        response = chap[PPP_CHAP_ChallengeResponse]
        assert response.optional_name == b"alice"
        assert len(response.value) == (16 if method is AuthMethod.CHAP_MD5 else 49)
    # IPCP: the final request carries the address the server assigned.
    ipcp = [f for f in frames if f.haslayer(PPP_IPCP) and f[PPP_IPCP].code == 1]
    addresses = [o.data for o in ipcp[-1][PPP_IPCP].options if int(o.type) == 3]
    assert addresses == ["10.9.0.2"]
    assert IPv4Address(addresses[0]) == link.a.ipcp_info.local


def test_our_protocol_reject_and_echo_parse_in_scapy() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    request = peer.read_cp(c.PROTO_LCP)[0]
    peer.send_cp(c.PROTO_LCP, c.CONF_REQ, 1, [])
    peer.send_cp(c.PROTO_LCP, c.CONF_ACK, request.identifier, request.data)
    engine.data_to_send()
    peer.send(c.PROTO_CCP, b"\x01\x01\x00\x04")
    peer.send_cp(c.PROTO_LCP, c.ECHO_REQ, 9, b"\x00\x00\x00\x05hi")
    frames = _scapy_frames([engine.data_to_send()])
    reject = next(f for f in frames if f.haslayer(PPP_LCP_Protocol_Reject))[PPP_LCP_Protocol_Reject]
    assert (
        reject.rejected_protocol == 0x80FD
        and bytes(reject.rejected_information) == b"\x01\x01\x00\x04"
    )
    echo = next(f for f in frames if f.haslayer(PPP_LCP_Echo))[PPP_LCP_Echo]
    assert (echo.code, echo.id, echo.magic_number, echo.data) == (10, 9, engine.lcp.magic, b"hi")


def test_ip_data_frames_parse_in_scapy() -> None:
    from scapy.layers.inet import IP, UDP

    link = Link(PppEngine(client_config()), PppEngine(server_config(None))).start()
    packet = bytes(IP(src="10.9.0.2", dst="10.9.0.1") / UDP(sport=5353, dport=53) / b"query")
    link.wire_a.clear()
    assert link.a.send_packet(packet)
    link.pump()
    (frame,) = _scapy_frames(link.wire_a)
    assert isinstance(frame, PPP)  # ACFC: no address/control field
    assert frame.proto == 0x21 and frame[UDP].dport == 53 and bytes(frame[UDP].payload) == b"query"
