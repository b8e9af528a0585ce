"""LCP (RFC 1661 §5–6): MRU, ACCM, authentication protocol, magic number, PFC, ACFC,
echo keepalive with dead-peer detection, Protocol-Reject and Discard-Request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import constants as c
from .config import AuthMethod, PppConfig
from .events import Failure
from .fsm import ControlProtocol, Ev, Judgement, Verdict
from .packets import CpPacket, Option


@dataclass(frozen=True)
class LcpInfo:
    """The negotiated LCP options (RAS projection RASP_PppLcp)."""

    mru: int  # what we receive (our acked MRU)
    peer_mru: int  # the largest packet we may send
    accm: int  # our receive ACCM
    peer_accm: int  # the peer's receive ACCM: what we escape when sending
    magic: int
    peer_magic: int
    recv_pfc: bool  # the peer may compress the protocol field towards us
    recv_acfc: bool
    send_pfc: bool  # we compress the protocol field towards the peer
    send_acfc: bool
    # The protocol we authenticate with (the peer asked for it), and the one we require.
    auth_protocol: int | None
    auth_algorithm: int | None
    peer_auth_protocol: int | None
    peer_auth_algorithm: int | None

    @property
    def auth_method(self) -> AuthMethod | None:
        return _method(self.auth_protocol, self.auth_algorithm)

    @property
    def peer_auth_method(self) -> AuthMethod | None:
        return _method(self.peer_auth_protocol, self.peer_auth_algorithm)


def _method(protocol: int | None, algorithm: int | None) -> AuthMethod | None:
    if protocol is None:
        return None
    for method in AuthMethod:
        if method.protocol == protocol and method.algorithm == algorithm:
            return method
    return None


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "big")


@dataclass
class Lcp(ControlProtocol):
    protocol = c.PROTO_LCP
    name = "LCP"
    extra_codes = frozenset({c.PROTO_REJ, c.ECHO_REQ, c.ECHO_REPLY, c.DISCARD_REQ})

    config: PppConfig = field(default_factory=PppConfig)
    # Called with (protocol, now) when the peer Protocol-Rejects something other than LCP.
    on_protocol_reject: Callable[[int, float], None] | None = None

    # What we ask for (None / False: not asked).
    want_mru: int | None = None
    want_accm: int | None = None
    want_magic: int | None = None
    want_pfc: bool = False
    want_acfc: bool = False
    want_auth: AuthMethod | None = None
    # Results.
    acked: dict[int, Option] = field(default_factory=dict)
    peer_acked: dict[int, Option] = field(default_factory=dict)
    # Keepalive.
    echo_deadline: float | None = None
    echo_pending: int = 0
    _echo_id: int = 0
    _loopbacks: int = 0
    _auth_naks: int = 0

    # ---- option handling ------------------------------------------------------------------

    def _random_magic(self) -> int:
        while True:
            magic = int.from_bytes(self.config.random_bytes(4), "big")
            if magic and magic != self.want_magic:
                return magic

    def reset_options(self) -> None:
        cfg = self.config
        self.want_mru = cfg.mru
        self.want_accm = cfg.accm
        self.want_magic = cfg.magic if cfg.magic else self._random_magic()
        self.want_pfc = cfg.pfc
        self.want_acfc = cfg.acfc
        self.want_auth = cfg.require_auth[0] if cfg.require_auth else None
        self.acked = {}
        self.peer_acked = {}
        self._loopbacks = 0
        self._auth_naks = 0

    def build_request(self) -> list[Option]:
        options: list[Option] = []
        if self.want_mru is not None:
            options.append(Option(c.LCP_MRU, self.want_mru.to_bytes(2, "big")))
        if self.want_accm is not None:
            options.append(Option(c.LCP_ACCM, _u32(self.want_accm)))
        if self.want_auth is not None:
            options.append(Option(c.LCP_AUTH, self.want_auth.option_data()))
        if self.want_magic is not None:
            options.append(Option(c.LCP_MAGIC, _u32(self.want_magic)))
        if self.want_pfc:
            options.append(Option(c.LCP_PFC))
        if self.want_acfc:
            options.append(Option(c.LCP_ACFC))
        return options

    def judge_request(self, options: list[Option]) -> list[Judgement]:
        verdicts: list[Judgement] = []
        for option in options:
            verdicts.append(self._judge(option))
        return verdicts

    def _judge(self, option: Option) -> Judgement:
        kind, data = option.type, option.data
        if kind == c.LCP_MRU and len(data) == 2:
            if int.from_bytes(data, "big") < c.MIN_MRU:
                return Judgement(
                    Verdict.NAK, option, Option(c.LCP_MRU, c.MIN_MRU.to_bytes(2, "big"))
                )
            return Judgement(Verdict.ACK, option)
        if kind == c.LCP_ACCM and len(data) == 4:
            return Judgement(Verdict.ACK, option)
        if kind == c.LCP_AUTH and len(data) >= 2:
            method = AuthMethod.from_option(data)
            allowed = self.config.allowed_auth
            if method is not None and method in allowed:
                return Judgement(Verdict.ACK, option)
            if not allowed:
                return Judgement(Verdict.REJECT, option)
            # Offer each method we accept in turn, best first, until the peer picks one.
            offer = allowed[self._auth_naks % len(allowed)]
            self._auth_naks += 1
            return Judgement(Verdict.NAK, option, Option(c.LCP_AUTH, offer.option_data()))
        if kind == c.LCP_MAGIC and len(data) == 4:
            magic = int.from_bytes(data, "big")
            if magic == 0 or (self.want_magic is not None and magic == self.want_magic):
                # Our own magic coming back: perhaps a looped-back line (RFC 1661 §6.4).
                if magic:
                    self._count_loopback()
                return Judgement(
                    Verdict.NAK, option, Option(c.LCP_MAGIC, _u32(self._random_magic()))
                )
            return Judgement(Verdict.ACK, option)
        if kind in (c.LCP_PFC, c.LCP_ACFC) and not data:
            return Judgement(Verdict.ACK, option)
        return Judgement(Verdict.REJECT, option)

    def _count_loopback(self) -> None:
        self._loopbacks += 1
        if self._loopbacks > self.timers.max_failure:
            self.fail(Failure.LOOPBACK, "the line appears to be looped back")

    def peer_request_acked(self, options: Sequence[Option]) -> None:
        self.peer_acked = {o.type: o for o in options}

    def apply_ack(self, options: Sequence[Option]) -> None:
        self.acked = {o.type: o for o in options}

    def apply_nak(self, options: Sequence[Option]) -> None:
        capacity = max(self.config.mru, c.DEFAULT_MRU)
        for option in options:
            kind, value = option.type, option.data
            if kind == c.LCP_MRU and len(value) == 2 and self.want_mru is not None:
                mru = int.from_bytes(value, "big")
                # Smaller is always fine; larger than our receive buffers is not: fall back to
                # the default by not asking.
                self.want_mru = mru if c.MIN_MRU <= mru <= capacity else None
            elif kind == c.LCP_ACCM and len(value) == 4 and self.want_accm is not None:
                self.want_accm |= int.from_bytes(value, "big")
            elif kind == c.LCP_AUTH and self.want_auth is not None:
                method = AuthMethod.from_option(value)
                required = self.config.require_auth
                if method is not None and method in required:
                    self.want_auth = method
                else:  # try our next acceptable method; the peer may reject in the end
                    index = required.index(self.want_auth) if self.want_auth in required else -1
                    self.want_auth = required[(index + 1) % len(required)]
            elif kind == c.LCP_MAGIC and self.want_magic is not None:
                self._count_loopback()
                self.want_magic = self._random_magic()

    def apply_reject(self, options: Sequence[Option]) -> None:
        for option in options:
            kind = option.type
            if kind == c.LCP_MRU:
                self.want_mru = None
            elif kind == c.LCP_ACCM:
                self.want_accm = None
            elif kind == c.LCP_MAGIC:
                self.want_magic = None
            elif kind == c.LCP_PFC:
                self.want_pfc = False
            elif kind == c.LCP_ACFC:
                self.want_acfc = False
            elif kind == c.LCP_AUTH and self.want_auth is not None:
                self.fail(Failure.PEER_REFUSED_AUTH, "the peer refused to authenticate")
                self.want_auth = None

    # ---- results --------------------------------------------------------------------------

    def info(self) -> LcpInfo:
        ours, theirs = self.acked, self.peer_acked
        mine_auth = (
            AuthMethod.from_option(theirs[c.LCP_AUTH].data) if c.LCP_AUTH in theirs else None
        )
        peer_auth = AuthMethod.from_option(ours[c.LCP_AUTH].data) if c.LCP_AUTH in ours else None
        return LcpInfo(
            mru=_int(ours.get(c.LCP_MRU), c.DEFAULT_MRU),
            peer_mru=_int(theirs.get(c.LCP_MRU), c.DEFAULT_MRU),
            accm=_int(ours.get(c.LCP_ACCM), c.DEFAULT_ACCM),
            peer_accm=_int(theirs.get(c.LCP_ACCM), c.DEFAULT_ACCM),
            magic=_int(ours.get(c.LCP_MAGIC), 0),
            peer_magic=_int(theirs.get(c.LCP_MAGIC), 0),
            recv_pfc=c.LCP_PFC in ours,
            recv_acfc=c.LCP_ACFC in ours,
            send_pfc=c.LCP_PFC in theirs and self.config.pfc,
            send_acfc=c.LCP_ACFC in theirs and self.config.acfc,
            auth_protocol=mine_auth.protocol if mine_auth else None,
            auth_algorithm=mine_auth.algorithm if mine_auth else None,
            peer_auth_protocol=peer_auth.protocol if peer_auth else None,
            peer_auth_algorithm=peer_auth.algorithm if peer_auth else None,
        )

    @property
    def magic(self) -> int:
        return _int(self.acked.get(c.LCP_MAGIC), 0)

    # ---- LCP-only codes -------------------------------------------------------------------

    def handle_extra(self, packet: CpPacket, now: float) -> None:
        if not self.is_opened:
            self.stats.discarded += 1  # all four are for the Opened state only
            return
        code, data = packet.code, packet.data
        if code == c.PROTO_REJ:
            if len(data) < 2:
                self.stats.discarded += 1
                return
            rejected = int.from_bytes(data[:2], "big")
            if rejected == c.PROTO_LCP:
                self.protocol_rejected(now)
                return
            self._event(Ev.RXJ_PLUS, now)
            if self.on_protocol_reject is not None:
                self.on_protocol_reject(rejected, now)
            return
        if code in (c.ECHO_REQ, c.ECHO_REPLY) and len(data) >= 4:
            magic = int.from_bytes(data[:4], "big")
            if magic and magic == self.magic:
                self.stats.discarded += 1  # our own packet looped back
                return
            if code == c.ECHO_REPLY:
                self.echo_pending = 0
        elif code in (c.ECHO_REQ, c.ECHO_REPLY):
            self.stats.discarded += 1
            return
        self.receive_echo_like(now)

    def send_echo_reply(self, packet: CpPacket) -> None:
        if packet.code == c.ECHO_REQ:
            self.send(c.ECHO_REPLY, packet.identifier, _u32(self.magic) + packet.data[4:])

    def send_protocol_reject(self, protocol: int, info: bytes, mru: int) -> None:
        """Reject a protocol we do not run (RFC 1661 §5.7); only valid in Opened."""
        if self.is_opened:
            data = protocol.to_bytes(2, "big") + info
            self.send(c.PROTO_REJ, self.next_identifier(), data[: max(mru - 4, 2)])

    # ---- keepalive ------------------------------------------------------------------------

    def start_keepalive(self, now: float) -> None:
        self.echo_pending = 0
        interval = self.config.echo_interval
        self.echo_deadline = now + interval if interval > 0 else None

    def stop_keepalive(self) -> None:
        self.echo_deadline = None
        self.echo_pending = 0

    def next_deadline(self) -> float | None:
        times = [t for t in (self.deadline, self.echo_deadline) if t is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        super().handle_timer(now)
        if self.echo_deadline is None or now < self.echo_deadline:
            return
        if not self.is_opened:
            self.echo_deadline = None
            return
        if self.echo_pending >= self.config.echo_max_unanswered:
            self.echo_deadline = None
            self.owner.cp_failed(
                self,
                Failure.ECHO_TIMEOUT,
                f"no answer to {self.echo_pending} LCP Echo-Requests",
                now,
            )
            return
        self._echo_id = (self._echo_id + 1) & 0xFF
        self.echo_pending += 1
        self.echo_deadline = now + self.config.echo_interval
        self.send(c.ECHO_REQ, self._echo_id, _u32(self.magic))


def _int(option: Option | None, default: int) -> int:
    if option is None or not option.data:
        return default
    return int.from_bytes(option.data, "big")
