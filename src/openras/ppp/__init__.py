"""Sans-IO PPP: HDLC-like framing, LCP, PAP/CHAP/MS-CHAPv2, IPCP and IPV6CP.

No I/O, no asyncio, no clock: see ``PppEngine`` for how a device adapter drives it.
"""

from __future__ import annotations

from .config import AuthMethod, PppConfig
from .engine import LinkStats, PppEngine
from .events import (
    ROLE_AUTHENTICATOR,
    ROLE_PEER,
    AuthFailed,
    AuthStarted,
    AuthSucceeded,
    Failure,
    IpDown,
    IpUp,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkEstablished,
    PacketReceived,
    Phase,
    PhaseChanged,
    PppEvent,
)
from .hdlc import Deframer, encode_frame
from .ipcp import IpcpInfo
from .ipv6cp import Ipv6cpInfo
from .lcp import LcpInfo

__all__ = [
    "ROLE_AUTHENTICATOR",
    "ROLE_PEER",
    "AuthFailed",
    "AuthMethod",
    "AuthStarted",
    "AuthSucceeded",
    "Deframer",
    "Failure",
    "IpDown",
    "IpUp",
    "IpcpInfo",
    "Ipv6Down",
    "Ipv6Up",
    "Ipv6cpInfo",
    "LcpInfo",
    "LinkDown",
    "LinkEstablished",
    "LinkStats",
    "PacketReceived",
    "Phase",
    "PhaseChanged",
    "PppConfig",
    "PppEngine",
    "PppEvent",
    "encode_frame",
]
