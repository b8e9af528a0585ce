"""Device registry: the ``DEVICE=`` value of an entry → the device class that dials it."""

from __future__ import annotations

from collections.abc import Callable

from ...phonebook import Entry
from .base import Device, DialContext


def device_key(entry: Entry) -> str:
    """The registry key of an entry: ``DEVICE=``, except VPN entries by their strategy.

    Minimal glue for the OpenVPN branch (``DEVICE=vpn`` + ``VpnStrategy=OpenVpn`` → "openvpn");
    the IKEv2 branch's ``vpn.vpn_kind`` is meant to replace it on merge.
    """
    if entry.device == "vpn" and (entry.get("VpnStrategy") or "").strip().lower() == "openvpn":
        return "openvpn"
    return entry.device


def registry() -> dict[str, Callable[[DialContext], Device]]:
    from .openvpn import OpenVpnDevice
    from .ssh import SshDevice

    devices: dict[str, Callable[[DialContext], Device]] = {"ssh": SshDevice, "openvpn": OpenVpnDevice}
    try:  # PPP devices arrive with openras.ppp
        from .ppp_devices import PPP_DEVICES

        devices.update(PPP_DEVICES)
    except ImportError:
        pass
    return devices
