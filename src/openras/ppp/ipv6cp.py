"""IPV6CP (RFC 5072): interface identifiers for IPv6 link-local addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import constants as c
from .config import PppConfig
from .fsm import ControlProtocol, Judgement, Verdict
from .packets import Option

ZERO_IFID = bytes(8)


@dataclass(frozen=True)
class Ipv6cpInfo:
    """The negotiated interface identifiers (RAS projection RASP_PppIpv6)."""

    local_ifid: bytes
    remote_ifid: bytes | None


@dataclass
class Ipv6cp(ControlProtocol):
    protocol = c.PROTO_IPV6CP
    name = "IPV6CP"

    config: PppConfig = field(default_factory=PppConfig)
    want_ifid: bytes | None = None
    local_ifid: bytes = ZERO_IFID
    peer_ifid: bytes | None = None

    def _random_ifid(self, avoid: bytes | None = None) -> bytes:
        while True:
            ifid = bytes(self.config.random_bytes(8))
            if ifid != ZERO_IFID and ifid != avoid:
                return ifid

    def reset_options(self) -> None:
        self.want_ifid = self.config.local_ifid or self._random_ifid()
        self.local_ifid = self.want_ifid
        self.peer_ifid = None

    def build_request(self) -> list[Option]:
        return [] if self.want_ifid is None else [Option(c.IPV6CP_IFID, self.want_ifid)]

    def judge_request(self, options: list[Option]) -> list[Judgement]:
        verdicts = []
        for option in options:
            if option.type == c.IPV6CP_IFID and len(option.data) == 8:
                if option.data == ZERO_IFID or option.data == self.want_ifid:
                    # RFC 5072 §4.1: suggest a different, non-zero identifier.
                    suggestion = Option(c.IPV6CP_IFID, self._random_ifid(self.want_ifid))
                    verdicts.append(Judgement(Verdict.NAK, option, suggestion))
                else:
                    verdicts.append(Judgement(Verdict.ACK, option))
            else:
                verdicts.append(Judgement(Verdict.REJECT, option))  # header compression etc.
        return verdicts

    def peer_request_acked(self, options: Sequence[Option]) -> None:
        self.peer_ifid = next((o.data for o in options if o.type == c.IPV6CP_IFID), None)

    def apply_ack(self, options: Sequence[Option]) -> None:
        for option in options:
            if option.type == c.IPV6CP_IFID:
                self.local_ifid = option.data

    def apply_nak(self, options: Sequence[Option]) -> None:
        for option in options:
            if option.type == c.IPV6CP_IFID and len(option.data) == 8 and self.want_ifid:
                if option.data != ZERO_IFID and option.data != self.peer_ifid:
                    self.want_ifid = option.data
                else:
                    self.want_ifid = self._random_ifid(self.peer_ifid)

    def apply_reject(self, options: Sequence[Option]) -> None:
        if any(o.type == c.IPV6CP_IFID for o in options):
            self.want_ifid = None  # keep our identifier locally; the peer will not check it

    def info(self) -> Ipv6cpInfo:
        return Ipv6cpInfo(self.local_ifid, self.peer_ifid)
