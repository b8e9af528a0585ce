"""Events a ``PppEngine`` reports, in order, through ``next_event()``.

None of them carries a password, a challenge response or any other secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address


class Phase(Enum):
    """Link phases of RFC 1661 §3.2 (pppd's names)."""

    DEAD = "Dead"
    ESTABLISH = "Establish"
    AUTHENTICATE = "Authenticate"
    NETWORK = "Network"
    RUNNING = "Running"
    TERMINATE = "Terminate"


# Who is being authenticated: "peer" = we prove who we are; "authenticator" = we check the peer.
ROLE_PEER = "peer"
ROLE_AUTHENTICATOR = "authenticator"


@dataclass(frozen=True)
class PhaseChanged:
    phase: Phase


@dataclass(frozen=True)
class LinkEstablished:
    """LCP reached Opened; ``engine.lcp_info`` holds the negotiated options."""


@dataclass(frozen=True)
class AuthStarted:
    protocol: int  # 0xC023 PAP or 0xC223 CHAP
    algorithm: int | None = None  # CHAP: 5 MD5, 0x81 MS-CHAPv2
    role: str = ROLE_PEER


@dataclass(frozen=True)
class AuthSucceeded:
    protocol: int
    algorithm: int | None = None
    role: str = ROLE_PEER
    message: str = ""  # the authenticator's text, or (authenticator role) the peer's user name


@dataclass(frozen=True)
class AuthFailed:
    protocol: int
    algorithm: int | None = None
    role: str = ROLE_PEER
    code: int = 691
    message: str = ""


@dataclass(frozen=True)
class IpUp:
    local: IPv4Address
    remote: IPv4Address | None
    dns1: IPv4Address | None = None
    dns2: IPv4Address | None = None


@dataclass(frozen=True)
class IpDown:
    pass


@dataclass(frozen=True)
class Ipv6Up:
    local_ifid: bytes
    remote_ifid: bytes | None


@dataclass(frozen=True)
class Ipv6Down:
    pass


@dataclass(frozen=True)
class PacketReceived:
    protocol: int  # 0x0021 IPv4 or 0x0057 IPv6
    data: bytes


@dataclass(frozen=True)
class LinkDown:
    """The link is finished: flush ``data_to_send()`` and close the transport. Always the last event."""

    code: int  # a RAS error code (openras.codes.errors)
    reason: str


PppEvent = (
    PhaseChanged
    | LinkEstablished
    | AuthStarted
    | AuthSucceeded
    | AuthFailed
    | IpUp
    | IpDown
    | Ipv6Up
    | Ipv6Down
    | PacketReceived
    | LinkDown
)
