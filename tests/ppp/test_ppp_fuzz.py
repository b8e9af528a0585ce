"""Hypothesis: random and mutated input, in every state, never raises out of the engine."""

from __future__ import annotations

import copy
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openras.ppp import AuthMethod, Failure, LinkDown, PppEngine
from openras.ppp import constants as c
from openras.ppp.auth import ChapAuthenticator, ChapPeer, PapAuthenticator, PapPeer
from openras.ppp.fsm import State
from openras.ppp.hdlc import encode_frame
from openras.ppp.ipcp import Ipcp
from openras.ppp.ipv6cp import Ipv6cp
from openras.ppp.lcp import Lcp
from openras.ppp.packets import CpPacket

from .pairing import Link, client_config, server_config
from .scripted import Peer
from .test_ppp_fsm import Recorder

PROTOCOLS = [
    c.PROTO_LCP, c.PROTO_PAP, c.PROTO_CHAP, c.PROTO_IPCP, c.PROTO_IPV6CP,
    c.PROTO_IPV4, c.PROTO_IPV6, c.PROTO_CCP, 0x0001, 0x8001, 0xC025,
]  # fmt: skip

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def cp_payloads(draw: st.DrawFn) -> bytes:
    """Mostly well-formed control packets with arbitrary options; sometimes anything."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    options = draw(
        st.lists(
            st.tuples(st.integers(0, 255), st.binary(max_size=10)).map(
                lambda t: bytes((t[0], len(t[1]) + 2)) + t[1]
            ),
            max_size=6,
        )
    )
    data = b"".join(options) if draw(st.booleans()) else draw(st.binary(max_size=40))
    return CpPacket(draw(st.integers(0, 14)), draw(st.integers(0, 255)), data).encode()


frames = st.lists(st.tuples(st.sampled_from(PROTOCOLS), cp_payloads()), max_size=8)


@cache
def snapshots() -> tuple[PppEngine, ...]:
    """Engines captured at every distinct point of several negotiations, both roles."""
    seen: dict[object, PppEngine] = {}
    variants = [
        (method, password, passive)
        for method in (None, AuthMethod.PAP, AuthMethod.CHAP_MD5, AuthMethod.MSCHAP_V2)
        for password in ("s3cret-pw", "bad")
        for passive in (False, True)
    ]
    for method, password, passive in variants:
        if True:
            a = PppEngine(client_config(password=password, echo_interval=2.0))
            b = PppEngine(server_config(method, echo_interval=2.0, passive=passive))
            link = Link(a, b)
            a.start(0.0)
            b.start(0.0)
            for _ in range(40):
                # One direction at a time, so that intermediate states are visible.
                for src, dst in ((a, b), (b, a)):
                    data = src.data_to_send()
                    for engine in (a, b):
                        key = (
                            engine is a,
                            engine.phase,
                            engine.lcp.state,
                            engine.ipcp.state if engine.ipcp else None,
                            engine.ipv6cp.state if engine.ipv6cp else None,
                            engine.is_finished,
                        )
                        if key not in seen:
                            seen[key] = copy.deepcopy(engine)
                    dst.receive_data(data, link.now)
                when = link.next_timer()
                if when is None:
                    break
                if not (a._out or b._out):
                    link.now = when
                    a.handle_timer(when)
                    b.handle_timer(when)
    # Ack-Rcvd needs the peer to ack before it asks: script that one.
    engine = PppEngine(client_config())
    engine.start(0.0)
    peer = Peer(engine)
    request = peer.read_cp(c.PROTO_LCP)[0]
    peer.send_cp(c.PROTO_LCP, c.CONF_ACK, request.identifier, request.data)
    assert engine.lcp.state is State.ACK_RCVD
    seen["ack-rcvd"] = engine
    return tuple(seen.values())


def test_snapshots_cover_many_states() -> None:
    states = {(e.phase, e.lcp.state) for e in snapshots()}
    assert len(snapshots()) >= 15
    assert {s for _, s in states} >= {State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED}


def check_invariants(engine: PppEngine, events: list) -> None:
    downs = [i for i, e in enumerate(events) if isinstance(e, LinkDown)]
    assert len(downs) <= 1
    if downs:
        assert downs[0] == len(events) - 1  # nothing after LinkDown
        assert engine.get_timer() is None
    timer = engine.get_timer()
    assert timer is None or isinstance(timer, float)


@FUZZ
@given(index=st.integers(0, 10_000), inputs=frames, steps=st.lists(st.floats(0, 40), max_size=4))
def test_engine_in_every_state_survives_random_frames(
    index: int, inputs: list[tuple[int, bytes]], steps: list[float]
) -> None:
    pool = snapshots()
    engine = copy.deepcopy(pool[index % len(pool)])
    engine.events()
    now = 100.0
    events = []
    for protocol, payload in inputs:
        accm = 0xFFFFFFFF if protocol == c.PROTO_LCP else 0
        engine.receive_data(encode_frame(protocol, payload, accm=accm), now)
        events += engine.events()
    for step in steps:
        now += step
        engine.handle_timer(now)
        events += engine.events()
    engine.send_packet(b"\x45" + bytes(20))
    engine.close(now)
    events += engine.events()
    check_invariants(engine, events)
    engine.data_to_send()


@FUZZ
@given(index=st.integers(0, 10_000), data=st.binary(max_size=400))
def test_engine_in_every_state_survives_random_bytes(index: int, data: bytes) -> None:
    pool = snapshots()
    engine = copy.deepcopy(pool[index % len(pool)])
    engine.events()
    engine.receive_data(data, 50.0)
    engine.receive_data(b"\x7e" + data + b"\x7e", 50.0)
    check_invariants(engine, engine.events())


@cache
def recorded_wire() -> bytes:
    link = Link(PppEngine(client_config()), PppEngine(server_config(AuthMethod.MSCHAP_V2))).start()
    return b"".join(link.wire_a + link.wire_b)


@FUZZ
@given(
    start=st.integers(0, 10_000),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    role=st.booleans(),
)
def test_mutated_real_conversation(start: int, edits: list[tuple[int, int]], role: bool) -> None:
    wire = bytearray(recorded_wire())
    for pos, value in edits:
        wire[pos % len(wire)] = value
    engine = PppEngine(client_config() if role else server_config(AuthMethod.MSCHAP_V2))
    engine.start(0.0)
    cut = start % len(wire)
    engine.receive_data(bytes(wire[:cut]), 1.0)
    engine.receive_data(bytes(wire[cut:]), 2.0)
    engine.handle_timer(100.0)
    check_invariants(engine, engine.events())


CP_CLASSES = [Lcp, Ipcp, Ipv6cp]


@FUZZ
@given(
    cls=st.sampled_from(CP_CLASSES),
    state=st.sampled_from(list(State)),
    packets=st.lists(cp_payloads(), min_size=1, max_size=6),
)
def test_every_control_protocol_in_every_state(
    cls: type, state: State, packets: list[bytes]
) -> None:
    rec = Recorder()
    cp = cls(owner=rec, config=client_config(require_auth=(AuthMethod.CHAP_MD5,)))
    cp.reset_options()
    cp.state = state
    for payload in packets:
        cp.receive(payload, 1.0)
    cp.handle_timer(10.0)
    if isinstance(cp, Lcp):
        cp.start_keepalive(0.0)
        cp.handle_timer(100.0)
    cp.protocol_rejected(11.0)
    assert cp.state in State


class AuthSink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.results: list[tuple[bool, Failure | None]] = []

    def send_auth(self, protocol: int, payload: bytes) -> None:
        self.sent.append(payload)

    def auth_finished(self, auth, failure, message, now, mschap_error=None) -> None:  # type: ignore[no-untyped-def]
        self.results.append((failure is None, failure))


@FUZZ
@given(
    kind=st.sampled_from([PapPeer, PapAuthenticator, ChapPeer, ChapAuthenticator]),
    method=st.sampled_from(list(AuthMethod)),
    packets=st.lists(cp_payloads(), min_size=1, max_size=6),
)
def test_every_authentication_object(kind: type, method: AuthMethod, packets: list[bytes]) -> None:
    sink = AuthSink()
    auth = kind(owner=sink, config=server_config(method), method=method)
    auth.start(0.0)
    for payload in packets:
        auth.receive(payload, 1.0)
    auth.handle_timer(1000.0)
    assert len(sink.results) <= 1
