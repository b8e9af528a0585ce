"""Device registry: the ``DEVICE=`` value of an entry → the device class that dials it.

``vpn`` (``DEVICE=vpn``, or ``Type=2`` without ``DEVICE``) resolves per entry through
``vpn.vpn_kind``: ``ikev2`` or ``openvpn``, each registered under its own key.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Device, DialContext


def registry() -> dict[str, Callable[[DialContext], Device]]:
    from .ikev2 import IkeV2Device
    from .ssh import SshDevice
    from .vpn import vpn_factory

    devices: dict[str, Callable[[DialContext], Device]] = {"ssh": SshDevice, "ikev2": IkeV2Device}
    try:  # PPP devices arrive with openras.ppp
        from .ppp_devices import PPP_DEVICES

        devices.update(PPP_DEVICES)
    except ImportError:
        pass
    devices["vpn"] = vpn_factory(devices)
    return devices


async def shutdown() -> None:
    """Daemon shut-down, after every link was hung up: stop helpers devices share (charon)."""
    from .ikev2 import shutdown_charon

    await shutdown_charon()
