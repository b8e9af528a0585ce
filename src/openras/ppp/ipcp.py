"""IPCP (RFC 1332) with the DNS options of RFC 1877.

As a client we ask for 0.0.0.0 and DNS 0.0.0.0 and take the peer's Nak values; we Reject
VJ compression; a peer asking for 0.0.0.0 gets a Nak with ``config.peer_ip`` (slirp asks
so, and an Ack of 0.0.0.0 makes it terminate IPCP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from . import constants as c
from .config import PppConfig
from .fsm import ControlProtocol, Judgement, Verdict
from .packets import Option

ANY = IPv4Address(0)


@dataclass(frozen=True)
class IpcpInfo:
    """The negotiated addresses (RAS projection RASP_PppIp)."""

    local: IPv4Address
    remote: IPv4Address | None
    dns1: IPv4Address | None
    dns2: IPv4Address | None


def _addr(option: Option) -> IPv4Address | None:
    return IPv4Address(option.data) if len(option.data) == 4 else None


@dataclass
class Ipcp(ControlProtocol):
    protocol = c.PROTO_IPCP
    name = "IPCP"

    config: PppConfig = field(default_factory=PppConfig)
    # Option type -> the address we ask for; absent = not asked (or rejected).
    want: dict[int, IPv4Address] = field(default_factory=dict)
    acked: dict[int, IPv4Address] = field(default_factory=dict)
    peer_acked: dict[int, IPv4Address] = field(default_factory=dict)

    def reset_options(self) -> None:
        cfg = self.config
        local = cfg.local_ip if isinstance(cfg.local_ip, IPv4Address) else ANY
        self.want = {c.IPCP_ADDRESS: local}
        if cfg.request_dns:
            self.want[c.IPCP_DNS1] = ANY
            self.want[c.IPCP_DNS2] = ANY
        self.acked = {}
        self.peer_acked = {}

    def build_request(self) -> list[Option]:
        return [Option(kind, addr.packed) for kind, addr in self.want.items()]

    def judge_request(self, options: list[Option]) -> list[Judgement]:
        return [self._judge(option) for option in options]

    def _judge(self, option: Option) -> Judgement:
        addr = _addr(option)
        if option.type == c.IPCP_ADDRESS and addr is not None:
            ours = self.want.get(c.IPCP_ADDRESS)
            offer = self.config.peer_ip
            if addr == ANY or (ours not in (None, ANY) and addr == ours):
                if isinstance(offer, IPv4Address) and offer != ours:
                    return Judgement(Verdict.NAK, option, Option(c.IPCP_ADDRESS, offer.packed))
                return Judgement(Verdict.REJECT, option)
            return Judgement(Verdict.ACK, option)
        if option.type in (c.IPCP_DNS1, c.IPCP_DNS2) and addr is not None:
            servers = self.config.dns_servers
            if servers is None:
                return Judgement(Verdict.REJECT, option)
            server = IPv4Address(servers[0 if option.type == c.IPCP_DNS1 else 1])
            if addr == server:
                return Judgement(Verdict.ACK, option)
            return Judgement(Verdict.NAK, option, Option(option.type, server.packed))
        # VJ compression (2), the old IP-Addresses (1), NBNS and the rest: not offered.
        return Judgement(Verdict.REJECT, option)

    def peer_request_acked(self, options: Sequence[Option]) -> None:
        self.peer_acked = {o.type: a for o in options if (a := _addr(o)) is not None}

    def apply_ack(self, options: Sequence[Option]) -> None:
        self.acked = {o.type: a for o in options if (a := _addr(o)) is not None}

    def apply_nak(self, options: Sequence[Option]) -> None:
        for option in options:
            addr = _addr(option)
            if option.type in self.want and addr is not None:
                self.want[option.type] = addr

    def apply_reject(self, options: Sequence[Option]) -> None:
        for option in options:
            # A peer that will not give DNS servers: carry on without them.
            self.want.pop(option.type, None)

    def info(self) -> IpcpInfo:
        local = self.acked.get(c.IPCP_ADDRESS)
        if local is None:  # the peer rejected the option: keep a configured address
            local = self.config.local_ip if isinstance(self.config.local_ip, IPv4Address) else ANY
        remote = self.peer_acked.get(c.IPCP_ADDRESS)
        return IpcpInfo(
            local=local,
            remote=remote,
            dns1=self.acked.get(c.IPCP_DNS1),
            dns2=self.acked.get(c.IPCP_DNS2),
        )
