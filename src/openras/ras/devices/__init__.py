"""Device registry: the ``DEVICE=`` value of an entry → the device class that dials it."""

from __future__ import annotations

from collections.abc import Callable

from .base import Device, DialContext


def registry() -> dict[str, Callable[[DialContext], Device]]:
    from .ssh import SshDevice

    devices: dict[str, Callable[[DialContext], Device]] = {"ssh": SshDevice}
    try:  # PPP devices arrive with openras.ppp
        from .ppp_devices import PPP_DEVICES

        devices.update(PPP_DEVICES)
    except ImportError:
        pass
    return devices
