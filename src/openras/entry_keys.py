"""The phonebook keys openras reads, per device, and the checks made when an entry is written.

Keys are case-sensitive and unknown keys are kept (a Windows ``rasphone.pbk`` has dozens openras
ignores), so a misspelt key would silently do nothing at dial time. :func:`check_entry` warns
at write time instead: a key that is not one openras reads but is close to one (case or a typo)
names the likely key, and an entry no device can dial says what is supported.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .codes import RasError
from .phonebook import Entry

COMMON = ("DEVICE", "Type", "MEDIA", "PhoneNumber")
REDIAL = ("RedialOnLinkFailure", "RedialAttempts", "RedialSeconds")
PPP = (
    "AuthRestrictions",
    "ExcludedProtocols",
    "IpAssign",
    "IpAddress",
    "IpNameAssign",
    "IpDnsAddress",
    "IpDns2Address",
    "IpPrioritizeRemote",
    "IpInterfaceMetric",
    "PppEchoInterval",
    "PppEchoFailure",
)

# DEVICE value (or VPN protocol) -> the keys its dial reads, besides COMMON and REDIAL.
DEVICE_KEYS: dict[str, tuple[str, ...]] = {
    "ssh": (
        "SshKnownHosts",
        "SshKey",
        "SocksPort",
        "SshKeepAliveSeconds",
        "SshKeepAliveCount",
        "SshConnectTimeout",
    ),
    "tcp": ("TcpConnectTimeout", *PPP),
    "serial": ("Port", "BaudRate", *PPP),
    "modem": (
        "Port",
        "BaudRate",
        "ModemInit",
        "ModemDialPrefix",
        "ModemAnswerSeconds",
        "ModemGuardSeconds",
        *PPP,
    ),
    "ikev2": (
        "VpnStrategy",
        "IkeCaCertificate",
        "IkeTimeout",
        "IkeDpdSeconds",
        "IpPrioritizeRemote",
        "IpNameAssign",
    ),
    "openvpn": (
        "VpnStrategy",
        "OpenVpnConfig",
        "OpenVpnTimeout",
        "OpenVpnPing",
        "OpenVpnPingRestart",
        "IpPrioritizeRemote",
    ),
}
DEVICES = ("ssh", "tcp", "serial", "modem", "vpn")
SUPPORTED = (
    "supported: DEVICE=ssh, tcp, serial, modem, or vpn (or Type=2): IKEv2 (VpnStrategy=0, 7, 8) "
    "and OpenVPN (VpnStrategy=OpenVpn)"
)
ALL_KEYS: frozenset[str] = frozenset(
    k for keys in (COMMON, REDIAL, *DEVICE_KEYS.values()) for k in keys
)


@dataclass(frozen=True)
class KeyWarning:
    key: str  # the key warned about ("" for the entry as a whole)
    message: str


def keys_help() -> str:
    """The per-device key list for ``--help``."""
    import textwrap

    rows = [("every entry", COMMON + REDIAL), ("all PPP (tcp, serial, modem)", PPP)]
    for device, keys in DEVICE_KEYS.items():
        label = f"vpn ({device})" if device in ("ikev2", "openvpn") else device
        vpn = device in ("ikev2", "openvpn")
        rows.append((label, tuple(k for k in keys if vpn or k not in PPP)))
    lines = ["entry keys (case-sensitive; other Windows keys are kept and ignored):"]
    for label, keys in rows:
        lines.extend(
            textwrap.wrap(
                ", ".join(keys), 96, initial_indent=f"  {label}: ", subsequent_indent="      "
            )
        )
    lines.append("see also: openras entry keys")
    return "\n".join(lines)


def _likely(key: str) -> str | None:
    for known in ALL_KEYS:
        if known.lower() == key.lower():
            return known
    close = difflib.get_close_matches(key, list(ALL_KEYS), n=1, cutoff=0.8)
    return close[0] if close else None


def check_entry(entry: Entry) -> list[KeyWarning]:
    """Warnings for an entry being written (never an error: unknown keys are legal)."""
    from .ras.devices import device_key

    out: list[KeyWarning] = []
    for key, _ in entry.lines:
        if key in ALL_KEYS:
            continue
        likely = _likely(key)
        if likely is not None and not entry.get(likely):
            out.append(KeyWarning(key, f"{key} is not a key openras reads; did you mean {likely}?"))
    device = entry.device
    if device not in DEVICES:
        what = f"DEVICE={entry.get('DEVICE')}" if entry.get("DEVICE") else "no DEVICE"
        out.append(KeyWarning("DEVICE", f"{what}: no device can dial this entry; {SUPPORTED}"))
    elif device == "vpn":
        try:
            device_key(entry)
        except RasError as exc:
            out.append(KeyWarning("VpnStrategy", exc.detail))
    return out
