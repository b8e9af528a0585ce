"""Which VPN device dials a ``Type=2`` / ``DEVICE=vpn`` entry: ``vpn_kind(entry)``.

Windows writes ``DEVICE=vpn`` in every VPN entry and chooses the protocol with ``VpnStrategy``
(ras.h ``VS_*``): 0 Default, 1 PptpOnly, 2 PptpFirst, 3 L2tpOnly, 4 L2tpFirst, 5 SstpOnly,
6 SstpFirst, 7 Ikev2Only, 8 Ikev2First. openras speaks IKEv2 (strongSwan) and OpenVPN
(``VpnStrategy=OpenVpn``, an openras extension); PPTP, L2TP and SSTP need kernel PPP or have
no working peer here (peers.md, "Not usable here").
"""

from __future__ import annotations

from typing import Literal

from ...codes import ErrorCode, RasError
from ...phonebook import Entry

VpnKind = Literal["ikev2", "openvpn"]

IKEV2_STRATEGIES = {0: "Default", 7: "Ikev2Only", 8: "Ikev2First"}
UNSUPPORTED_STRATEGIES = {
    1: "PptpOnly",
    2: "PptpFirst",
    3: "L2tpOnly",
    4: "L2tpFirst",
    5: "SstpOnly",
    6: "SstpFirst",
}
SUPPORTED = "openras dials IKEv2 (VpnStrategy=0, 7 or 8) and OpenVPN (VpnStrategy=OpenVpn)"


def vpn_kind(entry: Entry) -> VpnKind:
    """The VPN protocol of an entry, or RasError(633) for one openras cannot dial."""
    raw = (entry.get("VpnStrategy") or "").strip()
    if raw == "":
        return "ikev2"
    lowered = raw.lower()
    if lowered == "openvpn":
        return "openvpn"
    if lowered.startswith(
        "ikev2"
    ):  # the names, as some tools write them: Ikev2, Ikev2Only, Ikev2First
        return "ikev2"
    by_name = {name.lower(): code for code, name in UNSUPPORTED_STRATEGIES.items()}
    try:
        number = int(raw, 0)
    except ValueError:
        number = by_name.get(lowered, -1)
    if number in IKEV2_STRATEGIES:
        return "ikev2"
    if number in UNSUPPORTED_STRATEGIES:
        raise RasError(
            ErrorCode.ERROR_PORT_NOT_AVAILABLE,
            f"openras cannot dial PPTP/L2TP/SSTP: entry {entry.name!r} has VpnStrategy={raw} "
            f"({UNSUPPORTED_STRATEGIES[number]}); {SUPPORTED}",
        )
    raise RasError(
        ErrorCode.ERROR_PORT_NOT_AVAILABLE,
        f"entry {entry.name!r}: unknown VpnStrategy={raw!r}; {SUPPORTED}",
    )
