"""Configuration of one PPP link (``PppConfig``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

from .constants import CHAP_MD5, CHAP_MSV2, PROTO_CHAP, PROTO_PAP


class AuthMethod(Enum):
    """An authentication protocol as named in the LCP Authentication-Protocol option."""

    _value_: tuple[int, int | None]

    PAP = (PROTO_PAP, None)
    CHAP_MD5 = (PROTO_CHAP, CHAP_MD5)
    MSCHAP_V2 = (PROTO_CHAP, CHAP_MSV2)

    @property
    def protocol(self) -> int:
        return self._value_[0]

    @property
    def algorithm(self) -> int | None:
        return self._value_[1]

    def option_data(self) -> bytes:
        data = self.protocol.to_bytes(2, "big")
        return data if self.algorithm is None else data + bytes((self.algorithm,))

    @classmethod
    def from_option(cls, data: bytes) -> AuthMethod | None:
        for method in cls:
            if method.option_data() == data:
                return method
        return None


def _v4(value: str | IPv4Address | None) -> IPv4Address | None:
    return None if value is None else IPv4Address(value)


@dataclass
class PppConfig:
    """What one end of the link wants. Defaults suit a dial-up client (and slirp).

    Passwords never appear in ``repr`` and never leave the engine except as the
    protocol requires (PAP sends the password in the clear: prefer CHAP where possible).
    """

    # --- authenticating ourselves (peer role) ---
    username: str = ""
    password: str = field(default="", repr=False)
    # Methods we agree to authenticate with, best first (used in our Nak when the peer asks
    # for one we refuse). Empty: we Reject any Authentication-Protocol the peer asks for.
    allowed_auth: tuple[AuthMethod, ...] = (
        AuthMethod.MSCHAP_V2,
        AuthMethod.CHAP_MD5,
        AuthMethod.PAP,
    )
    # --- authenticating the peer (authenticator role; for servers and paired tests) ---
    require_auth: tuple[AuthMethod, ...] = ()
    # user name -> password, or a function returning the password (None: unknown user).
    secrets: Mapping[str, str] | Callable[[str], str | None] = field(
        default_factory=dict, repr=False
    )
    auth_name: str = "openras"  # our name in CHAP challenges
    auth_timeout: float = 30.0
    # --- LCP ---
    mru: int = 1500
    accm: int = 0x00000000  # our receive ACCM to request
    pfc: bool = True
    acfc: bool = True
    magic: int | None = None  # None: random
    restart_timer: float = 3.0
    max_configure: int = 10
    max_terminate: int = 2
    max_failure: int = 5
    passive: bool = False  # wait for the peer's first Configure-Request
    echo_interval: float = 30.0  # 0 disables the keepalive
    echo_max_unanswered: int = 4
    # --- IPCP ---
    ipv4: bool = True
    ipv4_required: bool = True  # the link fails (733/718/736) if IPCP does
    local_ip: str | IPv4Address | None = None  # None: ask the peer (0.0.0.0)
    # Given to a peer that asks for 0.0.0.0: slirp asks so, and acking it ends its IPCP.
    peer_ip: str | IPv4Address | None = "10.0.2.2"
    request_dns: bool = True
    # DNS servers we give a peer that asks (RFC 1877); None: Reject its DNS options.
    dns_servers: tuple[str | IPv4Address, str | IPv4Address] | None = None
    # --- IPV6CP ---
    ipv6: bool = True
    local_ifid: bytes | None = None  # None: random
    # --- randomness (magic numbers, challenges, identifiers): injectable for tests ---
    random_bytes: Callable[[int], bytes] = field(default=os.urandom, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.local_ip = _v4(self.local_ip)
        self.peer_ip = _v4(self.peer_ip)
        if self.dns_servers is not None:
            a, b = self.dns_servers
            self.dns_servers = (IPv4Address(a), IPv4Address(b))
        if not 128 <= self.mru <= 65535:
            raise ValueError("mru must be within 128..65535")
        if self.local_ifid is not None and len(self.local_ifid) != 8:
            raise ValueError("local_ifid must be 8 bytes")

    def lookup_secret(self, name: str) -> str | None:
        if callable(self.secrets):
            return self.secrets(name)
        return self.secrets.get(name)
