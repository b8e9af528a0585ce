"""What a PPP link negotiated, as RasGetProjectionInfo records: RASPPPIP, RASPPPIPV6 and
RASPPPLCP (with openras's additions: MRU, ACCM and magic numbers of both ends)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any

from ...codes import ErrorCode, RasError
from ...ppp import IpcpInfo, Ipv6cpInfo, LcpInfo

# RASPPPLCP option flags.
RASLCPO_PFC = 0x1
RASLCPO_ACFC = 0x2


def ip_projection(info: IpcpInfo | None, dns: Sequence[IPv4Address]) -> dict[str, Any]:
    """RASP_PppIp of a link that negotiates IPv4; ``info`` None: no address (738)."""
    if info is None:
        return {
            "dwError": ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED,
            "szIpAddress": "",
            "szServerIpAddress": "",
            "dwOptions": 0,
            "dwServerOptions": 0,
            "szDnsAddress": "",
            "szDns2Address": "",
        }
    servers: list[IPv4Address | None] = [*dns, None, None]
    return {
        "dwError": 0,
        "szIpAddress": str(info.local),
        "szServerIpAddress": str(info.remote) if info.remote else "",
        # VJ header compression is never negotiated (slirp's offer is rejected).
        "dwOptions": 0,
        "dwServerOptions": 0,
        "szDnsAddress": str(servers[0]) if servers[0] else "",
        "szDns2Address": str(servers[1]) if servers[1] else "",
    }


def ipv6_projection(info: Ipv6cpInfo | None) -> dict[str, Any]:
    """RASP_PppIpv6 of a link that negotiates IPv6; ``info`` None: not negotiated (733)."""
    if info is None:
        return {
            "dwError": ErrorCode.ERROR_PPP_CP_REJECTED,
            "bLocalInterfaceIdentifier": "",
            "bPeerInterfaceIdentifier": "",
            "bLocalCompressionProtocol": "",
            "bPeerCompressionProtocol": "",
        }
    return {
        "dwError": 0,
        "bLocalInterfaceIdentifier": info.local_ifid.hex(),
        "bPeerInterfaceIdentifier": info.remote_ifid.hex() if info.remote_ifid else "",
        "bLocalCompressionProtocol": "",
        "bPeerCompressionProtocol": "",
    }


def _options(pfc: bool, acfc: bool) -> int:
    return (RASLCPO_PFC if pfc else 0) | (RASLCPO_ACFC if acfc else 0)


def lcp_projection(info: LcpInfo | None, reply_message: str) -> dict[str, Any]:
    """RASP_PppLcp; before LCP opened, ERROR_PROJECTION_NOT_COMPLETE."""
    if info is None:
        raise RasError(ErrorCode.ERROR_PROJECTION_NOT_COMPLETE, "LCP is not open")
    return {
        "dwError": 0,
        "fBundled": False,
        "fMultilink": False,
        "dwAuthenticationProtocol": info.auth_protocol or 0,
        "dwAuthenticationData": info.auth_algorithm or 0,
        "dwEapTypeId": 0,
        "dwServerAuthenticationProtocol": info.peer_auth_protocol or 0,
        "dwServerAuthenticationData": info.peer_auth_algorithm or 0,
        "dwServerEapTypeId": 0,
        "dwTerminateReason": 0,
        "dwServerTerminateReason": 0,
        "szReplyMessage": reply_message,
        "dwOptions": _options(info.send_pfc, info.send_acfc),
        "dwServerOptions": _options(info.recv_pfc, info.recv_acfc),
        # openras additions: the rest of what LCP negotiated.
        "dwMru": info.mru,
        "dwServerMru": info.peer_mru,
        "dwAccm": info.accm,
        "dwServerAccm": info.peer_accm,
        "dwMagicNumber": info.magic,
        "dwServerMagicNumber": info.peer_magic,
    }
