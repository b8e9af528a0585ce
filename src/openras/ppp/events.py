"""Events a ``PppEngine`` reports, in order, through ``next_event()``.

None of them carries a password, a challenge response or any other secret. Why a link
finished is a ``Failure``: the engine's own words, free of any operating system's error
codes (the RAS device adapter maps them to RAS codes).
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


class Failure(Enum):
    """Why the engine finished a link (``LinkDown.failure``) or an authentication failed."""

    USER_CLOSED = "user-closed"  # close() was called
    TRANSPORT_LOST_EARLY = "transport-lost-early"  # connection_lost() before LCP opened
    TRANSPORT_LOST = "transport-lost"  # connection_lost() once LCP had opened
    PEER_TERMINATED = "peer-terminated"  # LCP Terminate-Request once LCP had opened
    PEER_TERMINATED_LCP = "peer-terminated-lcp"  # LCP Terminate-Request during negotiation
    LCP_TIMEOUT = "lcp-timeout"  # LCP Max-Configure/Max-Terminate without an answer
    LCP_REJECTED = "lcp-rejected"  # the peer Code-/Protocol-Rejected LCP itself
    LCP_FINISHED = "lcp-finished"  # LCP finished for any other reason
    NOT_CONVERGING = "not-converging"  # options never agreed (Max-Failure exceeded)
    PEER_REFUSED_AUTH = "peer-refused-auth"  # the peer rejected our Authentication-Protocol
    LOOPBACK = "loopback"  # our own magic number keeps coming back
    ECHO_TIMEOUT = "echo-timeout"  # LCP Echo-Requests unanswered: the link is dead
    NCP_TIMEOUT = "ncp-timeout"  # IPCP/IPV6CP got no answer
    NCP_REJECTED = "ncp-rejected"  # the peer Protocol-Rejected the NCP the link needs
    NCP_TERMINATED = "ncp-terminated"  # the NCP the link needs finished or was terminated
    NO_ADDRESS = "no-address"  # IPCP opened without an IPv4 address for us
    NO_NETWORK_PROTOCOLS = "no-network-protocols"  # neither IPv4 nor IPv6 configured
    AUTH_PROTOCOL_REJECTED = "auth-protocol-rejected"  # the peer Protocol-Rejected PAP/CHAP
    AUTH_REJECTED = "auth-rejected"  # bad credentials (PAP Nak, CHAP Failure, bad proof)
    AUTH_TIMEOUT = "auth-timeout"  # the other side of the authentication stopped answering


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
    failure: Failure = Failure.AUTH_REJECTED
    message: str = ""
    mschap_error: int | None = None  # an MS-CHAP Failure packet's "E=" number (RFC 2759 §6)


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
    """The link is finished: flush ``data_to_send()`` and close the transport. Always the last
    event."""

    failure: Failure
    reason: str
    mschap_error: int | None = None  # set when an MS-CHAP Failure packet ended the link


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
