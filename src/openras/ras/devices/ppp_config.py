"""Phonebook entry → ``PppConfig``: the Windows entry keys every PPP device reads.

``AuthRestrictions`` (Windows' bit mask: PAP 0x8, CHAP-MD5 0x20, MS-CHAPv2 0x200; 0 or
absent = all three), ``ExcludedProtocols`` (Windows' mask: 0x4 IPv4, 0x8 IPv6),
``IpAssign``/``IpAddress`` (2 = request IpAddress), ``IpNameAssign``/``IpDnsAddress``/
``IpDns2Address`` (2 = use these DNS servers instead of the negotiated ones),
``IpPrioritizeRemote`` (1 = default route through the link), ``IpInterfaceMetric``,
``PppEchoInterval`` (s, 0 = off) and ``PppEchoFailure`` (unanswered echoes before 829).
``[devices.<DEVICE>]`` options in openras.toml: ``echo_interval``, ``echo_failure``,
``restart_timer``, ``max_configure``, ``hangup_timeout``, ``tun`` (false: never make one).
Each device's own keys are listed in ppp_devices.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from ...codes import ErrorCode, RasError
from ...phonebook import Entry
from ...ppp import AuthMethod, PppConfig
from .base import DialContext, entry_number

# AuthRestrictions bits (Windows pbk.h AR_F_*); the ones openras can speak.
AR_F_AuthPAP = 0x8
AR_F_AuthMD5CHAP = 0x20
AR_F_AuthMSCHAP2 = 0x200
# ExcludedProtocols bits (Windows NP_*).
NP_Ip = 0x4
NP_Ipv6 = 0x8
DNS_KEYS = ("IpDnsAddress", "IpDns2Address")


def allowed_auth(restrictions: int) -> tuple[AuthMethod, ...]:
    """AuthRestrictions → the methods we agree to authenticate with, best first."""
    if restrictions == 0:  # AR_AuthAny
        return (AuthMethod.MSCHAP_V2, AuthMethod.CHAP_MD5, AuthMethod.PAP)
    methods = []
    if restrictions & AR_F_AuthMSCHAP2:
        methods.append(AuthMethod.MSCHAP_V2)
    if restrictions & AR_F_AuthMD5CHAP:
        methods.append(AuthMethod.CHAP_MD5)
    if restrictions & AR_F_AuthPAP:
        methods.append(AuthMethod.PAP)
    return tuple(methods)


def static_dns(entry: Entry) -> list[IPv4Address] | None:
    """The entry's own DNS servers (``IpNameAssign=2``); None: use the negotiated ones."""
    if entry.get_int("IpNameAssign", 1) != 2:
        return None
    out = []
    for key in DNS_KEYS:
        value = entry.get(key)
        if value and value != "0.0.0.0":
            out.append(IPv4Address(value))
    return out


def ppp_config(ctx: DialContext) -> PppConfig:
    """The engine's configuration for this dial; 625/720 for an entry that cannot work."""
    entry = ctx.entry
    excluded = entry.get_int("ExcludedProtocols", 0)
    if excluded & NP_Ip and excluded & NP_Ipv6:
        raise RasError(
            ErrorCode.ERROR_PPP_NO_PROTOCOLS_CONFIGURED, "ExcludedProtocols excludes IPv4 and IPv6"
        )
    local_ip = None
    if entry.get_int("IpAssign", 1) == 2:
        local_ip = entry.get("IpAddress") or None
    static = entry.get_int("IpNameAssign", 1) == 2
    options = ctx.options
    try:
        if static:
            for key in DNS_KEYS:
                IPv4Address(entry.get(key) or "0.0.0.0")
        echo_interval = entry_number(
            entry, "PppEchoInterval", options, "echo_interval", 30.0, minimum=0
        )
        echo_failure = entry_number(entry, "PppEchoFailure", options, "echo_failure", 4, minimum=0)
        return PppConfig(
            username=ctx.params.user,
            password=ctx.params.password,
            allowed_auth=allowed_auth(entry.get_int("AuthRestrictions", 0)),
            echo_interval=echo_interval,
            echo_max_unanswered=max(int(echo_failure), 1),
            restart_timer=float(options.get("restart_timer", 3.0)),
            max_configure=int(options.get("max_configure", 10)),
            ipv4=not excluded & NP_Ip,
            ipv4_required=not excluded & NP_Ip,
            ipv6=not excluded & NP_Ipv6,
            local_ip=local_ip,
            request_dns=not static,
        )
    except ValueError as exc:  # a bad IpAddress / IpDnsAddress
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{entry.name}: {exc}") from None
