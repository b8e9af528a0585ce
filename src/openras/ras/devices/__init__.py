"""Device registry: the ``DEVICE=`` value of an entry → the device class that dials it.

``vpn`` (``DEVICE=vpn``, or ``Type=2`` without ``DEVICE``) resolves per entry through
:func:`.vpn.vpn_kind` to ``ikev2`` or ``openvpn``, each registered (and configured in
``openras.toml``'s ``[devices.*]``) under its own key.
"""

from __future__ import annotations

from collections.abc import Callable

from ...phonebook import Entry
from .base import Device, DialContext
from .vpn import vpn_kind


def device_key(entry: Entry) -> str:
    """The registry key of an entry: its ``DEVICE``, and for VPN entries their protocol
    (RasError 633 for a strategy openras cannot dial)."""
    return vpn_kind(entry) if entry.device == "vpn" else entry.device


def registry() -> dict[str, Callable[[DialContext], Device]]:
    from .ikev2 import IkeV2Device
    from .openvpn import OpenVpnDevice
    from .ppp_devices import PPP_DEVICES
    from .ssh import SshDevice

    return {"ssh": SshDevice, "ikev2": IkeV2Device, "openvpn": OpenVpnDevice, **PPP_DEVICES}


async def shutdown() -> None:
    """Daemon shut-down, after every link was hung up: stop helpers devices share (charon)."""
    from .ikev2 import shutdown_charon

    await shutdown_charon()
