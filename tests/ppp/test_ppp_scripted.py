"""The engine against a hand-scripted peer: slirp's exact behaviour, failures, odd packets."""

from __future__ import annotations

from ipaddress import IPv4Address

from openras.codes import ErrorCode
from openras.ppp import AuthMethod, IpUp, LinkDown, PppEngine
from openras.ppp import constants as c
from openras.ppp.packets import CpPacket, Option

from .pairing import client_config, of_type
from .scripted import Peer, by_type

SLIRP_MAGIC = Option(c.LCP_MAGIC, bytes.fromhex("12345678"))


def open_lcp(peer: Peer, extra: list[Option] | None = None) -> None:
    """Play a passive slirp-like LCP: wait for the client, ack it, send ours, get it acked."""
    request = peer.read_cp(c.PROTO_LCP)[-1]
    assert request.code == c.CONF_REQ
    ours = [Option(c.LCP_MRU, (1500).to_bytes(2, "big")), *(extra or []), SLIRP_MAGIC,
            Option(c.LCP_PFC), Option(c.LCP_ACFC)]  # fmt: skip
    peer.send_cp(c.PROTO_LCP, c.CONF_REQ, 1, ours)
    peer.send_cp(c.PROTO_LCP, c.CONF_ACK, request.identifier, request.data)
    acks = [p for p in peer.read_cp(c.PROTO_LCP) if p.code == c.CONF_ACK]
    assert acks and acks[0].identifier == 1
    assert peer.engine.lcp.is_opened


def test_slirp_conversation() -> None:
    """peers.md: passive LCP, IPCP with 0.0.0.0 + VJ, CCP; our request Nak'd to 10.0.2.15."""
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer)
    assert engine.lcp_info is not None and engine.lcp_info.auth_protocol is None
    sent = peer.read()
    ours = CpPacket.decode(next(i for p, i in sent if p == c.PROTO_IPCP))
    assert ours is not None and ours.code == c.CONF_REQ
    assert by_type(ours) == {
        c.IPCP_ADDRESS: bytes(4),
        c.IPCP_DNS1: bytes(4),
        c.IPCP_DNS2: bytes(4),
    }
    # slirp's request: 0.0.0.0 and VJ compression; and a CCP request.
    vj = Option(c.IPCP_COMPRESSION, bytes.fromhex("002d0f01"))
    peer.send_cp(c.PROTO_IPCP, c.CONF_REQ, 1, [vj, Option(c.IPCP_ADDRESS, bytes(4))])
    peer.send_cp(c.PROTO_CCP, c.CONF_REQ, 1, [Option(0x18, b"\x00\x00")])
    replies = peer.read()
    ipcp = [CpPacket.decode(i) for p, i in replies if p == c.PROTO_IPCP]
    assert ipcp[0] is not None and ipcp[0].code == c.CONF_REJ
    assert by_type(ipcp[0]) == {c.IPCP_COMPRESSION: bytes.fromhex("002d0f01")}
    lcp = [CpPacket.decode(i) for p, i in replies if p == c.PROTO_LCP]
    assert lcp[0] is not None and lcp[0].code == c.PROTO_REJ
    assert lcp[0].data[:2] == b"\x80\xfd"  # CCP, followed by the rejected packet
    assert lcp[0].data[2:6] == bytes((1, 1, 0, 8))
    # slirp drops VJ and asks 0.0.0.0 again: Nak with 10.0.2.2 (never Ack 0.0.0.0).
    peer.send_cp(c.PROTO_IPCP, c.CONF_REQ, 2, [Option(c.IPCP_ADDRESS, bytes(4))])
    nak = peer.read_cp(c.PROTO_IPCP)[0]
    assert nak.code == c.CONF_NAK and by_type(nak) == {
        c.IPCP_ADDRESS: IPv4Address("10.0.2.2").packed
    }
    peer.send_cp(
        c.PROTO_IPCP, c.CONF_REQ, 3, [Option(c.IPCP_ADDRESS, IPv4Address("10.0.2.2").packed)]
    )
    assert peer.read_cp(c.PROTO_IPCP)[0].code == c.CONF_ACK
    # slirp Naks our request with its addresses.
    peer.send_cp(c.PROTO_IPCP, c.CONF_NAK, ours.identifier, [
        Option(c.IPCP_ADDRESS, IPv4Address("10.0.2.15").packed),
        Option(c.IPCP_DNS1, IPv4Address("192.0.2.53").packed),
        Option(c.IPCP_DNS2, IPv4Address("192.0.2.53").packed),
    ])  # fmt: skip
    again = peer.read_cp(c.PROTO_IPCP)[0]
    assert by_type(again)[c.IPCP_ADDRESS] == IPv4Address("10.0.2.15").packed
    peer.send_cp(c.PROTO_IPCP, c.CONF_ACK, again.identifier, again.data)
    ups = of_type(engine.events(), IpUp)
    assert ups == [
        IpUp(
            IPv4Address("10.0.2.15"),
            IPv4Address("10.0.2.2"),
            IPv4Address("192.0.2.53"),
            IPv4Address("192.0.2.53"),
        )
    ]
    assert engine.is_running
    # slirp Protocol-Rejects IPV6CP: IPv6 simply stays off.
    peer.send_cp(c.PROTO_LCP, c.PROTO_REJ, 9, b"\x80\x57\x01\x01\x00\x0e")
    assert engine.is_running and engine.ipv6cp is not None and not engine.ipv6cp.is_opened
    assert engine.get_timer() is None  # nothing retransmits after the reject
    # Our IP packets go out with compressed headers now.
    assert engine.send_packet(b"\x45" + bytes(19))
    assert peer.read() == [(0x21, b"\x45" + bytes(19))]


def test_slirp_with_pap() -> None:
    engine = PppEngine(client_config(username="u", password="p"))
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc0\x23")])
    pap = peer.read_cp(c.PROTO_PAP)
    assert len(pap) == 1 and pap[0].code == 1 and pap[0].data == b"\x01u\x01p"
    peer.send_cp(c.PROTO_PAP, 2, pap[0].identifier, b"\x08Login ok")
    events = engine.events()
    assert next(e for e in events if type(e).__name__ == "AuthSucceeded").message == "Login ok"
    assert engine.phase.value == "Network"


def test_slirp_pap_login_incorrect_then_terminate() -> None:
    engine = PppEngine(client_config(username="u", password="bad"))
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc0\x23")])
    pap = peer.read_cp(c.PROTO_PAP)[0]
    peer.send_cp(c.PROTO_PAP, 3, pap.identifier, b"\x0fLogin incorrect")
    peer.send_cp(c.PROTO_LCP, c.TERM_REQ, 7)
    lcp = peer.read_cp(c.PROTO_LCP)
    assert [p.code for p in lcp] == [c.TERM_REQ, c.TERM_ACK]
    assert lcp[1].identifier == 7
    peer.send_cp(c.PROTO_LCP, c.TERM_ACK, lcp[0].identifier)
    events = engine.events()
    assert events[-1] == LinkDown(691, "Login incorrect")


def test_pap_retransmits_then_718() -> None:
    engine = PppEngine(client_config(restart_timer=2.0, max_configure=3))
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc0\x23")])
    assert len(peer.read_cp(c.PROTO_PAP)) == 1
    for t in (2.0, 4.0):
        peer.advance(t)
        assert len(peer.read_cp(c.PROTO_PAP)) == 1
    peer.advance(6.0)
    down = engine.events()[-1]
    assert isinstance(down, LinkDown) and down.code == ErrorCode.ERROR_PPP_TIMEOUT


def test_chap_challenge_never_comes_is_718() -> None:
    engine = PppEngine(client_config(auth_timeout=30.0))
    engine.start(0.0)
    peer = Peer(engine)
    peer.now = 1.0
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc2\x23\x05")])
    assert engine.get_timer() == 31.0
    peer.advance(31.0)
    down = engine.events()[-1]
    assert isinstance(down, LinkDown) and down.code == 718


def test_chap_md5_response_and_retransmitted_challenge() -> None:
    import hashlib

    engine = PppEngine(client_config(username="bob", password="pw"))
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc2\x23\x05")])
    challenge = bytes(range(16))
    peer.send_cp(c.PROTO_CHAP, 1, 42, bytes((16,)) + challenge + b"srv")
    response = peer.read_cp(c.PROTO_CHAP)[0]
    expected = hashlib.md5(bytes((42,)) + b"pw" + challenge).digest()
    assert response.code == 2 and response.identifier == 42
    assert response.data == bytes((16,)) + expected + b"bob"
    peer.send_cp(c.PROTO_CHAP, 1, 42, bytes((16,)) + challenge + b"srv")
    assert peer.read_cp(c.PROTO_CHAP)[0].data == response.data
    peer.send_cp(c.PROTO_CHAP, 3, 41, b"stale id")  # ignored
    assert engine.phase.value == "Authenticate"
    peer.send_cp(c.PROTO_CHAP, 3, 42, b"Welcome")
    assert engine.phase.value == "Network"


def test_mschapv2_bad_authenticator_proof_fails() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc2\x23\x81")])
    peer.send_cp(c.PROTO_CHAP, 1, 5, bytes((16,)) + bytes(16) + b"srv")
    response = peer.read_cp(c.PROTO_CHAP)[0]
    assert response.data[0] == 49 and response.data[1 + 16 : 1 + 24] == bytes(8)
    assert response.data[50:] == b"alice"
    peer.send_cp(c.PROTO_CHAP, 3, 5, b"S=" + b"0" * 40 + b" M=hi")
    failed = [e for e in engine.events() if type(e).__name__ == "AuthFailed"]
    assert failed and failed[0].code == 691


def test_mschapv2_error_code_is_passed_on() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc2\x23\x81")])
    peer.send_cp(c.PROTO_CHAP, 1, 5, bytes((16,)) + bytes(16) + b"srv")
    peer.read()
    peer.send_cp(c.PROTO_CHAP, 4, 5, b"E=648 R=0 C=00000000000000000000000000000000 V=3 M=expired")
    terminate = peer.read_cp(c.PROTO_LCP)
    assert [p.code for p in terminate] == [c.TERM_REQ]
    peer.send_cp(c.PROTO_LCP, c.TERM_REQ, 3)  # both ends close at once
    peer.send_cp(c.PROTO_LCP, c.TERM_ACK, terminate[0].identifier)
    assert engine.events()[-1].code == ErrorCode.ERROR_PASSWD_EXPIRED


def test_peer_terminate_during_negotiation_is_734() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    peer.read()
    peer.send_cp(c.PROTO_LCP, c.TERM_REQ, 9)
    assert [(p.code, p.identifier) for p in peer.read_cp(c.PROTO_LCP)] == [(c.TERM_ACK, 9)]
    assert engine.events()[-1] == LinkDown(734, "the peer terminated LCP")
    assert engine.get_timer() is None and engine.is_finished
    peer.send_cp(c.PROTO_LCP, c.CONF_REQ, 1, [SLIRP_MAGIC])  # ignored once finished
    assert peer.read() == []


def test_endless_naks_is_732() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    codes: list[int] = []
    for _ in range(20):
        packets = peer.read_cp(c.PROTO_LCP)
        codes += [p.code for p in packets]
        requests = [p for p in packets if p.code == c.CONF_REQ]
        if not requests:
            break
        peer.send_cp(c.PROTO_LCP, c.CONF_NAK, requests[-1].identifier, [
            Option(c.LCP_ACCM, b"\xff\xff\xff\xff")
        ])  # fmt: skip
    assert codes.count(c.CONF_REQ) == 7 and codes[-1] == c.TERM_REQ
    peer.advance(10.0)
    down = [e for e in engine.events() if isinstance(e, LinkDown)]
    assert down == [LinkDown(732, "LCP: peer never accepts our options")]


def test_peer_ignoring_our_rejects_is_732() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    peer.read()
    for ident in range(1, 30):
        peer.send_cp(c.PROTO_LCP, c.CONF_REQ, ident, [Option(99, b"xx")])
    lcp = peer.read_cp(c.PROTO_LCP)
    assert [p.code for p in lcp].count(c.CONF_REJ) >= 5
    peer.advance(10.0)
    down = [e for e in engine.events() if isinstance(e, LinkDown)]
    assert down and down[0].code == 732


def test_code_reject_of_configure_request_is_733() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    request = peer.read_cp(c.PROTO_LCP)[0]
    peer.send_cp(c.PROTO_LCP, c.CODE_REJ, 1, request.encode())
    assert engine.events()[-1].code == ErrorCode.ERROR_PPP_CP_REJECTED


def test_looped_back_line_is_detected() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    for _ in range(50):
        data = engine.data_to_send()
        if not data or engine.is_finished:
            break
        engine.receive_data(data, 0.0)
    now = 0.0
    while not engine.is_finished and (t := engine.get_timer()) is not None:
        now = t
        engine.handle_timer(now)
        engine.receive_data(engine.data_to_send(), now)
    down = [e for e in engine.events() if isinstance(e, LinkDown)]
    assert down and down[0].code == 737


def test_lcp_extras_when_opened() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer)
    peer.read()
    magic = engine.lcp.magic.to_bytes(4, "big")
    # Echo-Request: answered with our magic and the same data.
    peer.send_cp(c.PROTO_LCP, c.ECHO_REQ, 3, SLIRP_MAGIC.data + b"ping")
    assert [(p.code, p.identifier, p.data) for p in peer.read_cp(c.PROTO_LCP)] == [
        (c.ECHO_REPLY, 3, magic + b"ping")
    ]
    # Our own magic in an Echo-Request: a looped-back packet, not answered.
    peer.send_cp(c.PROTO_LCP, c.ECHO_REQ, 4, magic)
    assert peer.read() == []
    # Discard-Request: nothing.
    peer.send_cp(c.PROTO_LCP, c.DISCARD_REQ, 5, SLIRP_MAGIC.data)
    assert peer.read() == []
    # An unknown code: Code-Reject carrying the packet.
    peer.send_cp(c.PROTO_LCP, 99, 6, b"what")
    reject = peer.read_cp(c.PROTO_LCP)
    assert [(p.code, p.data) for p in reject] == [(c.CODE_REJ, bytes((99, 6, 0, 8)) + b"what")]
    # A Code-Reject of our Echo-Request is harmless (RXJ+).
    peer.send_cp(c.PROTO_LCP, c.CODE_REJ, 7, bytes((9, 1, 0, 8)) + magic)
    assert engine.lcp.is_opened and not engine.is_finished
    # Unknown protocol: Protocol-Reject. Data before IPCP is up: silently dropped.
    peer.send(0x4021, b"\x01\x02")
    peer.send(0x0021, b"\x45\x00")
    rejects = peer.read_cp(c.PROTO_LCP)
    assert [(p.code, p.data) for p in rejects] == [(c.PROTO_REJ, b"\x40\x21\x01\x02")]


def test_network_packets_during_authentication_are_dropped() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    open_lcp(peer, [Option(c.LCP_AUTH, b"\xc0\x23")])
    peer.read()
    peer.send_cp(c.PROTO_IPCP, c.CONF_REQ, 1, [Option(c.IPCP_ADDRESS, bytes(4))])
    peer.send(c.PROTO_CCP, b"\x01\x01\x00\x04")
    assert peer.read() == []
    assert engine.stats.rx_discarded == 2


def test_auth_method_projection_values() -> None:
    assert AuthMethod.MSCHAP_V2.option_data() == b"\xc2\x23\x81"
    assert AuthMethod.CHAP_MD5.option_data() == b"\xc2\x23\x05"
    assert AuthMethod.PAP.option_data() == b"\xc0\x23"
    assert AuthMethod.from_option(b"\xc2\x23\x80") is None  # MS-CHAPv1: not offered


def test_connection_lost() -> None:
    engine = PppEngine(client_config())
    engine.start(0.0)
    engine.connection_lost(1.0)
    assert engine.events()[-1].code == ErrorCode.ERROR_PORT_DISCONNECTED
    up = PppEngine(client_config())
    up.start(0.0)
    open_lcp(Peer(up))
    up.connection_lost(2.0)
    assert up.events()[-1].code == ErrorCode.ERROR_REMOTE_DISCONNECTION
