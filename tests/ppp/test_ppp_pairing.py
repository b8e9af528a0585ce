"""Two engines negotiating with each other in memory: client and authenticator/server."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from openras.codes import ErrorCode
from openras.ppp import (
    AuthFailed,
    AuthMethod,
    AuthStarted,
    AuthSucceeded,
    IpDown,
    IpUp,
    Ipv6Up,
    LinkDown,
    PacketReceived,
    Phase,
    PhaseChanged,
    PppEngine,
)
from openras.ppp.hdlc import encode_frame
from openras.ppp.packets import CpPacket, encode_options

from .pairing import Link, client_config, of_type, server_config

IPV4_PACKET = (
    bytes.fromhex("4500001c000100004011f96e0a0900020a090001") + b"\x00\x35\x00\x35\x00\x08\x00\x00"
)
IPV6_PACKET = bytes.fromhex("6000000000003b40") + bytes(15) + b"\x01" + bytes(15) + b"\x02"

METHODS = [AuthMethod.PAP, AuthMethod.CHAP_MD5, AuthMethod.MSCHAP_V2]


def connect(
    method: AuthMethod | None = AuthMethod.PAP, cli: dict | None = None, srv: dict | None = None
) -> Link:
    client = PppEngine(client_config(**(cli or {})))
    server = PppEngine(server_config(method, **(srv or {})))
    return Link(client, server).start()


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_negotiates_to_ip_up(method: AuthMethod) -> None:
    link = connect(method)
    client, server = link.a, link.b
    assert client.is_running and server.is_running
    ups = of_type(link.events_a, IpUp)
    assert ups == [
        IpUp(
            IPv4Address("10.9.0.2"),
            IPv4Address("10.9.0.1"),
            IPv4Address("10.9.0.53"),
            IPv4Address("10.9.0.54"),
        )
    ]
    assert of_type(link.events_b, IpUp)[0].local == IPv4Address("10.9.0.1")
    started = of_type(link.events_a, AuthStarted)
    assert [(s.protocol, s.algorithm, s.role) for s in started] == [
        (method.protocol, method.algorithm, "peer")
    ]
    assert len(of_type(link.events_a, AuthSucceeded)) == 1
    server_ok = of_type(link.events_b, AuthSucceeded)
    assert [(s.role, s.message) for s in server_ok] == [("authenticator", "alice")]
    phases = [e.phase for e in of_type(link.events_a, PhaseChanged)]
    assert phases == [Phase.ESTABLISH, Phase.AUTHENTICATE, Phase.NETWORK, Phase.RUNNING]
    # Projection information a RAS layer reports.
    lcp = client.lcp_info
    assert lcp is not None
    assert (lcp.auth_protocol, lcp.auth_algorithm) == (method.protocol, method.algorithm)
    assert lcp.auth_method is method
    assert server.lcp_info is not None and server.lcp_info.peer_auth_method is method
    assert (lcp.mru, lcp.peer_mru, lcp.send_pfc, lcp.send_acfc, lcp.accm) == (
        1500,
        1500,
        True,
        True,
        0,
    )
    assert lcp.magic and lcp.peer_magic and lcp.magic != lcp.peer_magic
    assert client.ipcp_info is not None and client.ipcp_info.local == IPv4Address("10.9.0.2")
    v6a, v6b = of_type(link.events_a, Ipv6Up), of_type(link.events_b, Ipv6Up)
    assert v6a and v6b and v6a[0].local_ifid == v6b[0].remote_ifid
    assert client.ipv6cp_info is not None and client.ipv6cp_info.remote_ifid == v6a[0].remote_ifid
    assert link.down_a() is None and link.down_b() is None


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_wrong_password_is_691(method: AuthMethod) -> None:
    link = connect(method, cli={"password": "wrong"})
    link.run_until(60)
    failed = of_type(link.events_a, AuthFailed)
    assert len(failed) == 1 and failed[0].code == ErrorCode.ERROR_AUTHENTICATION_FAILURE
    assert link.down_a() == LinkDown(691, failed[0].message)
    assert link.down_b() is not None and link.down_b().code == 691
    assert not of_type(link.events_a, IpUp)
    assert isinstance(link.events_a[-1], LinkDown)  # nothing follows LinkDown
    assert link.a.get_timer() is None


def test_unknown_user_is_691() -> None:
    link = connect(AuthMethod.CHAP_MD5, cli={"username": "mallory"}).run_until(60)
    assert link.down_a() is not None and link.down_a().code == 691


def test_client_picks_an_allowed_method_by_nak() -> None:
    # The server prefers MS-CHAPv2 but accepts PAP too; the client allows only PAP.
    link = connect(
        cli={"allowed_auth": (AuthMethod.PAP,)},
        srv={"require_auth": (AuthMethod.MSCHAP_V2, AuthMethod.PAP)},
    )
    assert link.a.is_running
    assert link.a.lcp_info is not None and link.a.lcp_info.auth_method is AuthMethod.PAP


def test_no_auth_at_all() -> None:
    link = connect(None)
    assert link.a.is_running
    assert not of_type(link.events_a, AuthStarted)
    assert [e.phase for e in of_type(link.events_a, PhaseChanged)] == [
        Phase.ESTABLISH,
        Phase.NETWORK,
        Phase.RUNNING,
    ]


def test_mutual_authentication() -> None:
    link = connect(
        AuthMethod.CHAP_MD5,
        cli={"require_auth": (AuthMethod.MSCHAP_V2,), "secrets": {"srv": "x"}},
        srv={"allowed_auth": (AuthMethod.MSCHAP_V2,), "username": "srv", "password": "x"},
    )
    assert link.a.is_running and link.b.is_running
    assert {e.role for e in of_type(link.events_a, AuthSucceeded)} == {"peer", "authenticator"}


def test_data_packets_cross_both_ways() -> None:
    link = connect(AuthMethod.MSCHAP_V2)
    client, server = link.a, link.b
    assert client.send_packet(IPV4_PACKET)
    assert server.send_packet(IPV4_PACKET[::-1], protocol=0x0021)
    assert client.send_packet(IPV6_PACKET)
    all_octets = bytes(range(256)) * 4
    assert client.send_packet(b"\x45" + all_octets[1:])
    link.pump()
    got_b = of_type(link.events_b, PacketReceived)
    assert [(p.protocol, p.data) for p in got_b] == [
        (0x0021, IPV4_PACKET),
        (0x0057, IPV6_PACKET),
        (0x0021, b"\x45" + all_octets[1:]),
    ]
    assert [p.data for p in of_type(link.events_a, PacketReceived)] == [IPV4_PACKET[::-1]]


def test_send_packet_refused_before_running_and_when_too_big() -> None:
    client = PppEngine(client_config())
    assert not client.send_packet(IPV4_PACKET)
    link = connect()
    assert not link.a.send_packet(b"\x45" + bytes(1500))
    assert not link.a.send_packet(b"\x75abc")  # neither IPv4 nor IPv6


def test_negotiated_accm_and_compression_on_the_wire() -> None:
    # The client asks to have XON/XOFF escaped, no header compression.
    link = connect(cli={"accm": 0x000A0000, "pfc": False, "acfc": False})
    assert link.b.lcp_info is not None and link.b.lcp_info.peer_accm == 0x000A0000
    assert not link.b.lcp_info.send_pfc and not link.b.lcp_info.send_acfc
    link.wire_b.clear()
    payload = b"\x45" + bytes(range(1, 40))
    assert link.b.send_packet(payload)
    link.pump()
    wire = b"".join(link.wire_b)
    assert b"\x7d\x31" in wire and b"\x7d\x33" in wire  # 0x11 and 0x13 escaped
    assert b"\x01\x02\x03" in wire  # other control characters sent as they are
    assert b"\x7e\xff\x03\x00\x21\x45" in wire  # full address/control and protocol fields
    assert of_type(link.events_a, PacketReceived)[-1].data == payload


def test_line_noise_in_the_accm_is_ignored() -> None:
    link = connect(cli={"accm": 0x000A0000})
    assert link.b.send_packet(b"\x45\x11\x13" + bytes(30))
    data = link.b.data_to_send()
    noisy = data[:4] + b"\x11" + data[4:10] + b"\x13" + data[10:]
    link.a.receive_data(noisy, link.now)
    assert link.a.events()[-1] == PacketReceived(0x21, b"\x45\x11\x13" + bytes(30))


def test_echo_keepalive_detects_a_dead_peer() -> None:
    link = connect(cli={"echo_interval": 10.0, "echo_max_unanswered": 3})
    assert link.a.is_running
    up_at = link.now
    # Echoes are answered while the peer is alive.
    link.run_until(up_at + 100)
    assert link.down_a() is None
    assert link.a.lcp.echo_pending <= 1
    # The peer goes silent: requests still leave, nothing comes back.
    link.b_to_a = False
    cut = link.now
    link.run_until(cut + 100)
    down = link.down_a()
    assert down is not None and down.code == ErrorCode.ERROR_LINK_FAILURE == 829
    # Three unanswered requests at most 10 s apart, then the fourth tick declares it dead.
    assert of_type(link.events_a, PhaseChanged)[-1].phase is Phase.DEAD
    assert link.a.get_timer() is None


def test_echo_dead_peer_timing() -> None:
    client = PppEngine(client_config(echo_interval=5.0, echo_max_unanswered=2))
    server = PppEngine(server_config(None))
    link = Link(client, server).start()
    link.b_to_a = False
    t0 = link.now
    link.run_until(t0 + 14.9)
    assert link.down_a() is None
    link.run_until(t0 + 15.0)  # requests at +5 and +10 unanswered; +15 gives up
    assert link.down_a() is not None and link.down_a().code == 829


def test_peer_answers_echo_requests() -> None:
    link = connect(None, cli={"echo_interval": 1.0})
    link.run_until(link.now + 50)
    assert link.down_a() is None and link.a.is_running


def test_peer_terminate_after_up_is_629() -> None:
    link = connect(AuthMethod.CHAP_MD5)
    link.b.close(link.now)
    link.run_until(link.now + 30)
    assert link.down_a() is not None and link.down_a().code == ErrorCode.ERROR_REMOTE_DISCONNECTION
    assert link.down_b() is not None and link.down_b().code == ErrorCode.ERROR_USER_DISCONNECTION
    assert link.down_a().code == 629


def test_user_close_is_631_and_completes_on_terminate_ack() -> None:
    link = connect()
    t = link.now
    link.a.close(t)
    link.pump()
    assert link.down_a() == LinkDown(631, "closed by the user")
    assert link.now == t  # no waiting: the Terminate-Ack came straight back
    assert link.down_b() is not None and link.down_b().code == 629


def test_close_with_silent_peer_times_out_after_max_terminate() -> None:
    link = connect()
    link.a_to_b = False
    t = link.now
    link.a.close(t)
    link.run_until(t + 5.99)
    assert link.down_a() is None
    link.run_until(t + 6.0)  # two Terminate-Requests, 3 s apart (Max-Terminate 2)
    assert link.down_a() is not None and link.down_a().code == 631


def test_no_response_is_718_after_max_configure() -> None:
    client = PppEngine(client_config())
    client.start(0.0)
    sent = [client.data_to_send()]
    now = 0.0
    while (when := client.get_timer()) is not None:
        now = when
        client.handle_timer(now)
        sent.append(client.data_to_send())
    events = client.events()
    assert events[-1] == LinkDown(718, "LCP: no response from the peer")
    assert now == pytest.approx(30.0)  # 10 Configure-Requests, 3 s apart
    assert sum(1 for s in sent if s) == 10


def test_restart_timer_is_configurable() -> None:
    client = PppEngine(client_config(restart_timer=1.0, max_configure=3))
    client.start(100.0)
    assert client.get_timer() == 101.0
    client.handle_timer(100.5)  # early: nothing happens
    assert client.data_to_send().count(b"\x7e") == 2
    assert not client.data_to_send()
    for t in (101.0, 102.0, 103.0):
        client.handle_timer(t)
    assert client.events()[-1].code == 718


def test_passive_server_waits_for_the_client() -> None:
    server = PppEngine(server_config(None, passive=True))
    server.start(0.0)
    assert server.data_to_send() == b"" and server.get_timer() is None
    link = Link(PppEngine(client_config()), server)
    link.a.start(0.0)
    link.pump()
    assert link.a.is_running and server.is_running


def test_secrets_callable_unknown_user_is_691() -> None:
    client = PppEngine(client_config())
    server = PppEngine(server_config(AuthMethod.PAP, secrets=lambda name: None))
    link = Link(client, server).start()
    assert link.down_a() is not None and link.down_a().code == 691


def test_auth_mismatch_does_not_converge() -> None:
    # The server insists on MS-CHAPv2; the client allows only PAP. The client Naks PAP up
    # to Max-Failure times, then Rejects; the server cannot go on without authentication.
    link = connect(
        AuthMethod.MSCHAP_V2,
        cli={"allowed_auth": (AuthMethod.PAP,)},
    )
    link.run_until(60)
    assert link.down_b() is not None and link.down_b().code == ErrorCode.ERROR_PPP_NOT_CONVERGING
    assert link.down_a() is not None and link.down_a().code == ErrorCode.ERROR_PPP_LCP_TERMINATED
    assert link.a.lcp.stats.naks_sent == 5


def test_client_refusing_all_auth_rejects() -> None:
    link = connect(AuthMethod.PAP, cli={"allowed_auth": ()}).run_until(60)
    assert link.down_b() is not None and link.down_b().code == 732
    assert link.a.lcp.stats.naks_sent == 0 and link.a.lcp.stats.rejects_sent >= 1


def test_no_address_assigned_is_738() -> None:
    # A server with no address to give Rejects the client's 0.0.0.0 request.
    link = connect(srv={"peer_ip": None}).run_until(60)
    down = link.down_a()
    assert down is not None and down.code == ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED
    assert not of_type(link.events_a, IpUp)


def test_dns_rejected_is_fine() -> None:
    link = connect(srv={"dns_servers": None})
    assert link.a.is_running
    up = of_type(link.events_a, IpUp)[0]
    assert up.local == IPv4Address("10.9.0.2") and up.dns1 is None and up.dns2 is None


def test_ipv6_only_peer_and_ipv4_only_peer() -> None:
    link = connect(None, srv={"ipv6": False})
    assert link.a.is_running and of_type(link.events_a, IpUp) and not of_type(link.events_a, Ipv6Up)
    assert link.b.stats.protocol_rejects_sent >= 1  # the server Protocol-Rejected IPV6CP
    assert link.a.ipv6cp is not None and link.a.ipv6cp.state.name == "STOPPED"
    link6 = connect(None, cli={"ipv4": False}, srv={"ipv4": False})
    assert link6.a.is_running and of_type(link6.events_a, Ipv6Up)


def test_ipcp_rejected_by_peer_is_733() -> None:
    link = connect(None, srv={"ipv4": False}).run_until(60)
    assert link.down_a() is not None and link.down_a().code == ErrorCode.ERROR_PPP_CP_REJECTED


def test_secrets_never_in_reprs_or_events() -> None:
    link = connect(AuthMethod.PAP)
    text = (
        repr(link.a.config)
        + repr(link.b.config)
        + repr(link.a)
        + repr(link.events_a + link.events_b)
    )
    text += repr(link.a.lcp) + repr(link.a._auth)
    assert "s3cret-pw" not in text
    bad = connect(AuthMethod.MSCHAP_V2, cli={"password": "wrong-secret"}).run_until(60)
    assert "wrong-secret" not in repr(bad.events_a + bad.events_b)


def test_renegotiation_from_opened() -> None:
    link = connect(AuthMethod.CHAP_MD5)
    # A fresh LCP Configure-Request while Opened (RFC 1661: tld, scr, sca): both ends
    # renegotiate, authenticate again and bring IP back.
    request = CpPacket(1, 0x77, encode_options(link.b.lcp.build_request())).encode()
    link.a.receive_data(encode_frame(0xC021, request), link.now)
    link.pump()
    assert link.a.is_running and link.b.is_running
    assert len(of_type(link.events_a, IpUp)) == 2
    assert len(of_type(link.events_a, AuthSucceeded)) == 2
    assert of_type(link.events_a, IpDown)
