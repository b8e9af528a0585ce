"""The RFC 1661 option-negotiation automaton, written once and shared by LCP and the NCPs.

The state transition table of RFC 1661 §4.1 is kept below as data, cell for cell, and
``ControlProtocol`` executes it.  Subclasses supply only the option handling: the request
we send, the verdict on the peer's request, and what to do with an Ack/Nak/Reject of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import ClassVar, Protocol

from . import constants as c
from .events import Failure
from .packets import CpPacket, Option, encode_options, parse_options


class State(IntEnum):
    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9


class Ev(Enum):
    UP = "Up"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Act(Enum):
    TLU = "tlu"  # this layer up
    TLD = "tld"  # this layer down
    TLS = "tls"  # this layer started
    TLF = "tlf"  # this layer finished
    IRC = "irc"  # initialise restart count
    ZRC = "zrc"  # zero restart count
    SCR = "scr"  # send Configure-Request
    SCA = "sca"  # send Configure-Ack
    SCN = "scn"  # send Configure-Nak/Reject
    STR = "str"  # send Terminate-Request
    STA = "sta"  # send Terminate-Ack
    SCJ = "scj"  # send Code-Reject
    SER = "ser"  # send Echo-Reply


# RFC 1661 §4.1, verbatim. "-" is an impossible event (ignored); the option letters
# r (restart), x (crossed connection) and p (passive) need no action of their own here.
_RFC1661_TABLE: dict[str, tuple[str, ...]] = {
    #         Initial   Starting     Closed       Stopped          Closing
    #         Stopping  Req-Sent     Ack-Rcvd     Ack-Sent         Opened
    "Up":    ("2",      "irc,scr/6", "-",         "-",             "-",
              "-",      "-",         "-",         "-",             "-"),
    "Down":  ("-",      "-",         "0",         "tls/1",         "0",
              "1",      "1",         "1",         "1",             "tld/1"),
    "Open":  ("tls/1",  "1",         "irc,scr/6", "3r",            "5r",
              "5r",     "6",         "7",         "8",             "9r"),
    "Close": ("0",      "tlf/0",     "2",         "2",             "4",
              "4",      "irc,str/4", "irc,str/4", "irc,str/4",     "tld,irc,str/4"),
    "TO+":   ("-",      "-",         "-",         "-",             "str/4",
              "str/5",  "scr/6",     "scr/6",     "scr/8",         "-"),
    "TO-":   ("-",      "-",         "-",         "-",             "tlf/2",
              "tlf/3",  "tlf/3p",    "tlf/3p",    "tlf/3p",        "-"),
    "RCR+":  ("-",      "-",         "sta/2",     "irc,scr,sca/8", "4",
              "5",      "sca/8",     "sca,tlu/9", "sca/8",         "tld,scr,sca/8"),
    "RCR-":  ("-",      "-",         "sta/2",     "irc,scr,scn/6", "4",
              "5",      "scn/6",     "scn/7",     "scn/6",         "tld,scr,scn/6"),
    "RCA":   ("-",      "-",         "sta/2",     "sta/3",         "4",
              "5",      "irc/7",     "scr/6x",    "irc,tlu/9",     "tld,scr/6x"),
    "RCN":   ("-",      "-",         "sta/2",     "sta/3",         "4",
              "5",      "irc,scr/6", "scr/6x",    "irc,scr/8",     "tld,scr/6x"),
    "RTR":   ("-",      "-",         "sta/2",     "sta/3",         "sta/4",
              "sta/5",  "sta/6",     "sta/6",     "sta/6",         "tld,zrc,sta/5"),
    "RTA":   ("-",      "-",         "2",         "3",             "tlf/2",
              "tlf/3",  "6",         "6",         "8",             "tld,scr/6"),
    "RUC":   ("-",      "-",         "scj/2",     "scj/3",         "scj/4",
              "scj/5",  "scj/6",     "scj/7",     "scj/8",         "scj/9"),
    "RXJ+":  ("-",      "-",         "2",         "3",             "4",
              "5",      "6",         "6",         "8",             "9"),
    "RXJ-":  ("-",      "-",         "tlf/2",     "tlf/3",         "tlf/2",
              "tlf/3",  "tlf/3",     "tlf/3",     "tlf/3",         "tld,irc,str/5"),
    "RXR":   ("-",      "-",         "2",         "3",             "4",
              "5",      "6",         "7",         "8",             "ser/9"),
}  # fmt: skip


def _parse_cell(cell: str) -> tuple[tuple[Act, ...], State] | None:
    if cell == "-":
        return None
    actions, _, target = cell.rpartition("/")
    return (
        tuple(Act(a) for a in actions.split(",")) if actions else (),
        State(int(target.rstrip("rxp"))),
    )


TRANSITIONS: dict[tuple[State, Ev], tuple[tuple[Act, ...], State]] = {
    (state, Ev(event)): parsed
    for event, row in _RFC1661_TABLE.items()
    for state, cell in zip(State, row, strict=True)
    if (parsed := _parse_cell(cell)) is not None
}

_LAYER_ACTIONS = (Act.TLU, Act.TLD, Act.TLS, Act.TLF)
_TIMER_STATES = frozenset(
    {State.CLOSING, State.STOPPING, State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT}
)


class Verdict(Enum):
    ACK = "ack"
    NAK = "nak"
    REJECT = "reject"


@dataclass(frozen=True)
class Judgement:
    """The verdict on one option of the peer's Configure-Request; ``suggestion`` goes in a Nak."""

    verdict: Verdict
    option: Option
    suggestion: Option | None = None


class CpOwner(Protocol):
    """What a control protocol needs from the engine that runs it."""

    def send_cp(self, protocol: int, payload: bytes) -> None: ...

    def layer_event(self, cp: ControlProtocol, action: Act, now: float) -> None: ...

    def cp_failed(self, cp: ControlProtocol, failure: Failure, reason: str, now: float) -> None: ...

    def peer_terminated(self, cp: ControlProtocol, now: float) -> None: ...


@dataclass(frozen=True)
class CpTimers:
    restart: float = 3.0
    max_configure: int = 10
    max_terminate: int = 2
    max_failure: int = 5


@dataclass
class CpStats:
    illegal_events: int = 0
    discarded: int = 0
    naks_sent: int = 0
    rejects_sent: int = 0


# Why this layer finished, for the engine to turn into a ``Failure``.
FINISH_TIMEOUT = "timeout"
FINISH_REJECTED = "rejected"
FINISH_CLOSED = "closed"


@dataclass
class ControlProtocol:
    """One instance of the automaton for one protocol (LCP, IPCP, IPV6CP)."""

    protocol: ClassVar[int]
    name: ClassVar[str]
    # Codes beyond 1..7 that this protocol understands (LCP: 8..11).
    extra_codes: ClassVar[frozenset[int]] = frozenset()

    owner: CpOwner
    timers: CpTimers = field(default_factory=CpTimers)
    state: State = State.INITIAL
    deadline: float | None = None
    restart_count: int = 0
    passive: bool = False
    stats: CpStats = field(default_factory=CpStats)
    # Why the last tlf happened (FINISH_*).
    finish_reason: str = FINISH_CLOSED
    _ident: int = 0
    _req_id: int | None = None
    _req_payload: bytes = b""
    _req_options: tuple[Option, ...] = ()
    _reply_seen: bool = True
    _naks_sent: int = 0
    _rejects_sent: int = 0
    _naks_received: int = 0
    _packet: CpPacket | None = field(default=None, repr=False)
    _response: CpPacket | None = field(default=None, repr=False)
    _peer_options: tuple[Option, ...] = ()
    _failure: tuple[Failure, str] | None = None

    # ---- option handling supplied by subclasses -------------------------------------------

    def reset_options(self) -> None:
        """Back to the configured wishes, before a fresh negotiation."""

    def build_request(self) -> list[Option]:
        return []

    def judge_request(self, options: list[Option]) -> list[Judgement]:
        return [Judgement(Verdict.REJECT, o) for o in options]

    def peer_request_acked(self, options: Sequence[Option]) -> None:
        """We are about to Ack the peer's request with these options."""

    def apply_ack(self, options: Sequence[Option]) -> None:
        """The peer acked our request with these options."""

    def apply_nak(self, options: Sequence[Option]) -> None:
        """Adopt what the peer suggested, where acceptable."""

    def apply_reject(self, options: Sequence[Option]) -> None:
        """Stop asking for these options."""

    def handle_extra(self, packet: CpPacket, now: float) -> None:
        """A packet with one of ``extra_codes``."""

    def send_echo_reply(self, packet: CpPacket) -> None:
        """The ``ser`` action (LCP)."""

    # ---- helpers for subclasses -----------------------------------------------------------

    def fail(self, failure: Failure, reason: str) -> None:
        """Negotiation cannot succeed; the owner hears of it once the current event is done."""
        if self._failure is None:
            self._failure = (failure, reason)

    def next_identifier(self) -> int:
        self._ident = (self._ident + 1) & 0xFF
        return self._ident

    def send(self, code: int, identifier: int, data: bytes = b"") -> None:
        self.owner.send_cp(self.protocol, CpPacket(code, identifier, data).encode())

    @property
    def is_opened(self) -> bool:
        return self.state is State.OPENED

    @property
    def peer_options(self) -> tuple[Option, ...]:
        return self._peer_options

    # ---- administrative and lower-layer events ---------------------------------------------

    def up(self, now: float) -> None:
        if self.state is State.STARTING:
            self.reset_options()
            if self.passive:
                # Passive/silent start: wait in Stopped for the peer's request (pppd "silent").
                self._set_state(State.STOPPED, now)
                return
        self._event(Ev.UP, now)

    def down(self, now: float) -> None:
        self._event(Ev.DOWN, now)

    def open(self, now: float) -> None:
        if self.state in (State.INITIAL, State.CLOSED):
            self.reset_options()
        self._event(Ev.OPEN, now)

    def close(self, now: float) -> None:
        self._event(Ev.CLOSE, now)

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self._event(Ev.TO_PLUS if self.restart_count > 0 else Ev.TO_MINUS, now)

    def protocol_rejected(self, now: float) -> None:
        """The peer sent an LCP Protocol-Reject for this protocol: fatal for it (RXJ-)."""
        self._event(Ev.RXJ_MINUS, now)

    # ---- receiving ------------------------------------------------------------------------

    def receive(self, payload: bytes, now: float) -> None:
        packet = CpPacket.decode(payload)
        if packet is None:
            self.stats.discarded += 1
            return
        self._packet = packet
        try:
            self._dispatch(packet, now)
        finally:
            self._packet = None
            self._response = None

    def _dispatch(self, packet: CpPacket, now: float) -> None:
        code = packet.code
        if code == c.CONF_REQ:
            self._receive_conf_req(packet, now)
        elif code in (c.CONF_ACK, c.CONF_NAK, c.CONF_REJ):
            self._receive_conf_reply(packet, now)
        elif code == c.TERM_REQ:
            active = self.state in (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED)
            self._event(Ev.RTR, now)
            if active:
                self.owner.peer_terminated(self, now)
        elif code == c.TERM_ACK:
            self._event(Ev.RTA, now)
        elif code == c.CODE_REJ:
            rejected = packet.data[0] if packet.data else 0
            # Without codes 1..7 nothing can be negotiated: catastrophic (RFC 1661 §5.6).
            fatal = c.CONF_REQ <= rejected <= c.CODE_REJ
            self._event(Ev.RXJ_MINUS if fatal else Ev.RXJ_PLUS, now)
        elif code in self.extra_codes:
            self.handle_extra(packet, now)
        else:
            self._event(Ev.RUC, now)

    def _receive_conf_req(self, packet: CpPacket, now: float) -> None:
        if self.state not in (
            State.STOPPED, State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED,
        ):  # fmt: skip
            # Closed answers with Terminate-Ack; the others ignore it: no verdict needed.
            self._event(Ev.RCR_PLUS, now)
            return
        options = parse_options(packet.data)
        if options is None:
            self.stats.discarded += 1
            return
        judgements = self.judge_request(options)
        rejects = [j.option for j in judgements if j.verdict is Verdict.REJECT]
        naks = [j for j in judgements if j.verdict is Verdict.NAK]
        if not rejects and not naks:
            self._response = CpPacket(c.CONF_ACK, packet.identifier, packet.data)
            self._peer_options = tuple(options)
            self._event(Ev.RCR_PLUS, now)
            return
        if not rejects and self._naks_sent >= self.timers.max_failure:
            # Max-Failure: stop suggesting values, reject the options instead (RFC 1661 §4.6).
            rejects = [j.option for j in naks]
        if rejects:
            self._rejects_sent += 1
            if self._rejects_sent > self.timers.max_failure + self.timers.max_configure:
                self.fail(
                    Failure.NOT_CONVERGING, f"{self.name}: peer keeps requesting options we reject"
                )
            self._response = CpPacket(c.CONF_REJ, packet.identifier, encode_options(rejects))
        else:
            suggestions = [j.suggestion or j.option for j in naks]
            self._response = CpPacket(c.CONF_NAK, packet.identifier, encode_options(suggestions))
        self._event(Ev.RCR_MINUS, now)

    def _receive_conf_reply(self, packet: CpPacket, now: float) -> None:
        # Replies must answer our latest request, once (RFC 1661 §5.2–5.4).
        if packet.identifier != self._req_id or self._reply_seen:
            self.stats.discarded += 1
            return
        if self.state in (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED):
            if packet.code == c.CONF_ACK:
                if packet.data != self._req_payload:
                    self.stats.discarded += 1
                    return
                self._reply_seen = True
                self._naks_received = 0
                self.apply_ack(self._req_options)
                self._event(Ev.RCA, now)
                return
            options = parse_options(packet.data)
            if options is None:
                self.stats.discarded += 1
                return
            if packet.code == c.CONF_REJ:
                sent = {o.type for o in self._req_options}
                if any(o.type not in sent for o in options):
                    self.stats.discarded += 1  # rejects an option we never asked for
                    return
            self._reply_seen = True
            self._naks_received += 1
            if packet.code == c.CONF_NAK:
                self.apply_nak(options)
            else:
                self.apply_reject(options)
            if self._naks_received > self.timers.max_failure + 1:
                self.fail(Failure.NOT_CONVERGING, f"{self.name}: peer never accepts our options")
            self._event(Ev.RCN, now)
        else:
            self._event(Ev.RCA if packet.code == c.CONF_ACK else Ev.RCN, now)

    def receive_echo_like(self, now: float) -> None:
        """An Echo-Request/Reply or Discard-Request (the RXR event)."""
        self._event(Ev.RXR, now)

    # ---- the automaton --------------------------------------------------------------------

    def _event(self, event: Ev, now: float) -> None:
        if self._failure is not None and event in (Ev.RCR_MINUS, Ev.RCN):
            # The options judged just now cannot converge: answering or sending yet another
            # request would only prolong it. The owner closes the layer instead.
            self._report_failure(now)
            return
        transition = TRANSITIONS.get((self.state, event))
        if transition is None:
            self.stats.illegal_events += 1
            self._report_failure(now)
            return
        actions, target = transition
        layer: Act | None = None
        for action in actions:
            if action in _LAYER_ACTIONS:
                layer = action
            else:
                self._do(action, actions, event, now)
        if layer is Act.TLF:
            self.finish_reason = {
                Ev.TO_MINUS: FINISH_TIMEOUT,
                Ev.RXJ_MINUS: FINISH_REJECTED,
            }.get(event, FINISH_CLOSED)
        self._set_state(target, now)
        if layer is not None:
            self.owner.layer_event(self, layer, now)
        self._report_failure(now)

    def _report_failure(self, now: float) -> None:
        if self._failure is not None:
            failure, reason = self._failure
            self._failure = None
            self.owner.cp_failed(self, failure, reason, now)

    def _set_state(self, target: State, now: float) -> None:
        if target is not self.state and target in (State.OPENED, State.INITIAL, State.STARTING):
            self._naks_sent = self._rejects_sent = self._naks_received = 0
        self.state = target
        if target not in _TIMER_STATES:
            self.deadline = None

    def _do(self, action: Act, actions: tuple[Act, ...], event: Ev, now: float) -> None:
        if action is Act.IRC:
            self.restart_count = (
                self.timers.max_terminate if Act.STR in actions else self.timers.max_configure
            )
        elif action is Act.ZRC:
            self.restart_count = 0
            self.deadline = now + self.timers.restart
        elif action is Act.SCR:
            self._send_conf_req(now, retransmit=event is Ev.TO_PLUS)
        elif action is Act.SCA:
            assert self._response is not None
            self._naks_sent = self._rejects_sent = 0
            self.peer_request_acked(self._peer_options)
            self.send(self._response.code, self._response.identifier, self._response.data)
        elif action is Act.SCN:
            assert self._response is not None
            if self._response.code == c.CONF_NAK:
                self._naks_sent += 1
                self.stats.naks_sent += 1
            else:
                self.stats.rejects_sent += 1
            self.send(self._response.code, self._response.identifier, self._response.data)
        elif action is Act.STR:
            self.restart_count -= 1
            self.deadline = now + self.timers.restart
            self.send(c.TERM_REQ, self.next_identifier())
        elif action is Act.STA:
            identifier = self._packet.identifier if self._packet else self.next_identifier()
            self.send(c.TERM_ACK, identifier)
        elif action is Act.SCJ:
            assert self._packet is not None
            self.send(c.CODE_REJ, self.next_identifier(), self._packet.encode()[:1496])
        elif action is Act.SER:
            if self._packet is not None:
                self.send_echo_reply(self._packet)

    def _send_conf_req(self, now: float, retransmit: bool) -> None:
        # A timeout retransmits the same request under the same Identifier (RFC 1661 §5.1
        # allows it), so a late reply to the first copy still counts.
        if retransmit and self._req_id is not None:
            identifier = self._req_id
        else:
            self._req_options = tuple(self.build_request())
            self._req_payload = encode_options(list(self._req_options))
            identifier = self.next_identifier()
        self._req_id = identifier
        self._reply_seen = False
        self.restart_count -= 1
        self.deadline = now + self.timers.restart
        self.send(c.CONF_REQ, identifier, self._req_payload)
