"""What a PPP link negotiated, as RasGetProjectionInfo records: RASPPPIP, RASPPPIPV6 and
RASPPPLCP (with openras's additions: MRU, ACCM and magic numbers of both ends)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from ...codes import ErrorCode, RasError
from ...ppp import IpcpInfo, Ipv6cpInfo, LcpInfo
from ..records import PppIpProjection, PppIpv6Projection, PppLcpProjection

# RASPPPLCP option flags.
RASLCPO_PFC = 0x1
RASLCPO_ACFC = 0x2


def ip_projection(info: IpcpInfo | None, dns: Sequence[IPv4Address]) -> PppIpProjection:
    """RASP_PppIp of a link that negotiates IPv4; ``info`` None: no address (738)."""
    if info is None:
        return PppIpProjection(dwError=ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED)
    servers: list[IPv4Address | None] = [*dns, None, None]
    # VJ header compression is never negotiated (slirp's offer is rejected): no options.
    return PppIpProjection(
        szIpAddress=str(info.local),
        szServerIpAddress=str(info.remote) if info.remote else "",
        szDnsAddress=str(servers[0]) if servers[0] else "",
        szDns2Address=str(servers[1]) if servers[1] else "",
    )


def ipv6_projection(info: Ipv6cpInfo | None) -> PppIpv6Projection:
    """RASP_PppIpv6 of a link that negotiates IPv6; ``info`` None: not negotiated (733)."""
    if info is None:
        return PppIpv6Projection(dwError=ErrorCode.ERROR_PPP_CP_REJECTED)
    return PppIpv6Projection(
        bLocalInterfaceIdentifier=info.local_ifid.hex(),
        bPeerInterfaceIdentifier=info.remote_ifid.hex() if info.remote_ifid else "",
    )


def _options(pfc: bool, acfc: bool) -> int:
    return (RASLCPO_PFC if pfc else 0) | (RASLCPO_ACFC if acfc else 0)


def lcp_projection(info: LcpInfo | None, reply_message: str) -> PppLcpProjection:
    """RASP_PppLcp; before LCP opened, ERROR_PROJECTION_NOT_COMPLETE."""
    if info is None:
        raise RasError(ErrorCode.ERROR_PROJECTION_NOT_COMPLETE, "LCP is not open")
    return PppLcpProjection(
        dwAuthenticationProtocol=info.auth_protocol or 0,
        dwAuthenticationData=info.auth_algorithm or 0,
        dwServerAuthenticationProtocol=info.peer_auth_protocol or 0,
        dwServerAuthenticationData=info.peer_auth_algorithm or 0,
        szReplyMessage=reply_message,
        dwOptions=_options(info.send_pfc, info.send_acfc),
        dwServerOptions=_options(info.recv_pfc, info.recv_acfc),
        dwMru=info.mru,
        dwServerMru=info.peer_mru,
        dwAccm=info.accm,
        dwServerAccm=info.peer_accm,
        dwMagicNumber=info.magic,
        dwServerMagicNumber=info.peer_magic,
    )
