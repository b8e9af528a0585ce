"""The RASCS steps a dial of each device type goes through (design.md, "The RAS contract"), which
the dashboard draws as a row that fills in as the notifications arrive. A state a device
reports that is not listed is inserted where its number puts it."""

from __future__ import annotations

from ...codes import RASCS

_LINK = (
    RASCS.OpenPort,
    RASCS.PortOpened,
    RASCS.ConnectDevice,
    RASCS.DeviceConnected,
    RASCS.AllDevicesConnected,
    RASCS.Authenticate,
    RASCS.Authenticated,
)
_PPP = (*_LINK, RASCS.AuthProject, RASCS.Projected, RASCS.Connected)

STEPS: dict[str, tuple[RASCS, ...]] = {
    "ssh": (*_LINK, RASCS.Projected, RASCS.Connected),
    "vpn": (*_LINK, RASCS.Projected, RASCS.Connected),
    "ppp": _PPP,
    "tcp": _PPP,
    "serial": _PPP,
    "modem": _PPP,
}
DEFAULT = STEPS["ssh"]


def encoded() -> dict[str, list[dict[str, int | str]]]:
    """The table for the page: device type → [{state, name}]; "*" is the default."""
    table = {**STEPS, "*": DEFAULT}
    return {
        kind: [{"state": int(s), "name": s.name} for s in steps] for kind, steps in table.items()
    }
