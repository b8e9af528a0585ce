"""The RFC 1661 automaton as a table, and its timers, against a minimal control protocol."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from openras.ppp import Failure
from openras.ppp import constants as c
from openras.ppp.fsm import (
    FINISH_CLOSED,
    FINISH_TIMEOUT,
    TRANSITIONS,
    Act,
    ControlProtocol,
    CpTimers,
    Ev,
    State,
)
from openras.ppp.packets import CpPacket


@dataclass
class Recorder:
    sent: list[CpPacket] = field(default_factory=list)
    layers: list[Act] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    terminated: int = 0

    def send_cp(self, protocol: int, payload: bytes) -> None:
        packet = CpPacket.decode(payload)
        assert packet is not None
        self.sent.append(packet)

    def layer_event(self, cp: ControlProtocol, action: Act, now: float) -> None:
        self.layers.append(action)

    def cp_failed(self, cp: ControlProtocol, failure: Failure, reason: str, now: float) -> None:
        self.failures.append(failure)

    def peer_terminated(self, cp: ControlProtocol, now: float) -> None:
        self.terminated += 1


@dataclass
class Plain(ControlProtocol):
    """Asks for nothing, accepts an empty request."""

    protocol = 0x8021
    name = "TEST"

    def judge_request(self, options):  # type: ignore[no-untyped-def]
        return []


def make(state: State = State.INITIAL) -> tuple[Plain, Recorder]:
    rec = Recorder()
    cp = Plain(owner=rec, timers=CpTimers(restart=3.0, max_configure=10, max_terminate=2))
    cp.state = state
    return cp, rec


def test_table_is_rfc1661() -> None:
    assert len(TRANSITIONS) == 120  # 160 cells less 40 impossible ones
    assert TRANSITIONS[(State.STARTING, Ev.UP)] == ((Act.IRC, Act.SCR), State.REQ_SENT)
    assert TRANSITIONS[(State.ACK_RCVD, Ev.RCR_PLUS)] == ((Act.SCA, Act.TLU), State.OPENED)
    assert TRANSITIONS[(State.OPENED, Ev.RTR)] == ((Act.TLD, Act.ZRC, Act.STA), State.STOPPING)
    assert TRANSITIONS[(State.OPENED, Ev.CLOSE)] == (
        (Act.TLD, Act.IRC, Act.STR),
        State.CLOSING,
    )
    assert TRANSITIONS[(State.STOPPED, Ev.RCR_MINUS)] == (
        (Act.IRC, Act.SCR, Act.SCN),
        State.REQ_SENT,
    )
    assert TRANSITIONS[(State.REQ_SENT, Ev.TO_MINUS)] == ((Act.TLF,), State.STOPPED)
    assert (State.INITIAL, Ev.RCR_PLUS) not in TRANSITIONS
    assert (State.OPENED, Ev.TO_PLUS) not in TRANSITIONS
    # Every state has Open, Close and RUC or an explicit impossibility; no cell is invented.
    for state in State:
        assert (state, Ev.OPEN) in TRANSITIONS and (state, Ev.CLOSE) in TRANSITIONS


def test_open_up_sends_request_and_times_out() -> None:
    cp, rec = make()
    cp.open(0.0)
    assert cp.state is State.STARTING and rec.layers == [Act.TLS]
    cp.up(0.0)
    assert cp.state is State.REQ_SENT and cp.deadline == 3.0
    assert [p.code for p in rec.sent] == [c.CONF_REQ]
    t = 0.0
    while cp.deadline is not None:
        t = cp.deadline
        cp.handle_timer(t)
    assert t == 30.0 and len(rec.sent) == 10
    assert len({p.identifier for p in rec.sent}) == 1  # retransmissions keep the Identifier
    assert cp.state is State.STOPPED and rec.layers[-1] is Act.TLF
    assert cp.finish_reason == FINISH_TIMEOUT


def test_full_exchange_and_close() -> None:
    cp, rec = make()
    cp.open(0.0)
    cp.up(0.0)
    req = rec.sent[-1]
    cp.receive(CpPacket(c.CONF_ACK, req.identifier).encode(), 0.5)
    assert cp.state is State.ACK_RCVD
    cp.receive(CpPacket(c.CONF_REQ, 9).encode(), 0.6)
    assert cp.state is State.OPENED and rec.layers[-1] is Act.TLU and cp.deadline is None
    assert (rec.sent[-1].code, rec.sent[-1].identifier) == (c.CONF_ACK, 9)
    # A duplicate Ack is ignored now.
    cp.receive(CpPacket(c.CONF_ACK, req.identifier).encode(), 0.7)
    assert cp.state is State.OPENED
    cp.close(1.0)
    assert cp.state is State.CLOSING and rec.layers[-1] is Act.TLD
    term = rec.sent[-1]
    assert term.code == c.TERM_REQ
    cp.receive(CpPacket(c.TERM_ACK, term.identifier).encode(), 1.1)
    assert cp.state is State.CLOSED and rec.layers[-1] is Act.TLF
    assert cp.finish_reason == FINISH_CLOSED


def test_max_terminate() -> None:
    cp, rec = make(State.OPENED)
    cp.close(0.0)
    while cp.deadline is not None:
        cp.handle_timer(cp.deadline)
    assert [p.code for p in rec.sent] == [c.TERM_REQ, c.TERM_REQ]
    assert cp.state is State.CLOSED


def test_peer_terminate_in_opened_waits_one_restart_period() -> None:
    cp, rec = make(State.OPENED)
    cp.receive(CpPacket(c.TERM_REQ, 4).encode(), 0.0)
    assert cp.state is State.STOPPING and rec.terminated == 1
    assert (rec.sent[-1].code, rec.sent[-1].identifier) == (c.TERM_ACK, 4)
    assert cp.deadline == 3.0
    cp.handle_timer(3.0)
    assert cp.state is State.STOPPED and rec.layers[-2:] == [Act.TLD, Act.TLF]


def test_closed_answers_with_terminate_ack() -> None:
    cp, rec = make(State.CLOSED)
    cp.receive(CpPacket(c.CONF_REQ, 1).encode(), 0.0)
    assert rec.sent[-1].code == c.TERM_ACK and cp.state is State.CLOSED


def test_unknown_code_is_code_rejected() -> None:
    cp, rec = make(State.REQ_SENT)
    cp.receive(CpPacket(42, 1, b"x").encode(), 0.0)
    assert rec.sent[-1].code == c.CODE_REJ
    assert rec.sent[-1].data == CpPacket(42, 1, b"x").encode()


def test_passive_waits_in_stopped() -> None:
    cp, rec = make()
    cp.passive = True
    cp.open(0.0)
    cp.up(0.0)
    assert cp.state is State.STOPPED and not rec.sent and cp.deadline is None
    cp.receive(CpPacket(c.CONF_REQ, 1).encode(), 1.0)
    assert [p.code for p in rec.sent] == [c.CONF_REQ, c.CONF_ACK]
    assert cp.state is State.ACK_SENT


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", list(Ev))
def test_every_cell_executes(state: State, event: Ev) -> None:
    cp, _rec = make(state)
    cp._response = CpPacket(c.CONF_ACK, 1)
    cp._packet = CpPacket(c.ECHO_REQ, 1, b"\x00\x00\x00\x00")
    cp._event(event, 0.0)
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        assert cp.state is state and cp.stats.illegal_events == 1
    else:
        assert cp.state is expected[1]
        timer_states = (
            State.CLOSING,
            State.STOPPING,
            State.REQ_SENT,
            State.ACK_RCVD,
            State.ACK_SENT,
        )
        if expected[1] not in timer_states:
            assert cp.deadline is None  # the restart timer runs only in these five states
        elif any(a in (Act.SCR, Act.STR, Act.ZRC) for a in expected[0]):
            assert cp.deadline == 3.0
