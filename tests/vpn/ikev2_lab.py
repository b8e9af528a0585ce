"""The IKEv2 lab: a strongSwan server in one network namespace, an openras daemon in another.

The daemon (and so its charon, ipsec0 and routes) runs in the client namespace; the server's
LAN (198.51.100.0/24, with an HTTP server) is reached only through the tunnel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness import Daemon
from peers.strongswan import SERVER_ADDR, StrongswanServer
from ras_helpers import SSH_STATES, DialLab

from openras.client.ras import Notification

RETRANSMIT_TIMEOUT = 0.5
RETRANSMIT_BASE = 1.4
RETRANSMIT_TRIES = 2
# charon gives up on an unanswered request after this many seconds (global settings).
RETRANSMIT_BUDGET = sum(
    RETRANSMIT_TIMEOUT * RETRANSMIT_BASE**n for n in range(RETRANSMIT_TRIES + 1)
)
DPD_SECONDS = 1
DPD_BOUND = (
    DPD_SECONDS + RETRANSMIT_BUDGET + 3.0
)  # dead peer declared within this (bound, not a figure)

DAEMON_CONFIG = f"""
[daemon]
failed_handle_grace = 60
[devices.ikev2]
retransmit_timeout = {RETRANSMIT_TIMEOUT}
retransmit_base = {RETRANSMIT_BASE}
retransmit_tries = {RETRANSMIT_TRIES}
dpd_seconds = {DPD_SECONDS}
ike_timeout = 20
"""

# Every state of a dial, as for SSH: the same nine RASCS steps.
IKEV2_STATES = SSH_STATES


@dataclass
class Lab(DialLab):
    server: StrongswanServer
    daemon: Daemon

    default_entry = "Office VPN"

    @property
    def credentials(self) -> tuple[str, str]:
        return self.server.user, self.server.password

    def lines(self, **keys: Any) -> list[list[str]]:
        lines = [
            ["MEDIA", "rastapi"],
            ["Port", "VPN2-0"],
            ["Device", "WAN Miniport (IKEv2)"],
            ["DEVICE", "vpn"],
            ["PhoneNumber", SERVER_ADDR],
            ["Type", "2"],
            ["VpnStrategy", "7"],
            ["IkeCaCertificate", str(self.server.ca_cert)],
        ]
        for key, value in keys.items():
            lines = [kv for kv in lines if kv[0] != key]
            if value is not None:
                lines.append([key, str(value)])
        return lines

    def entry(self, name: str = "Office VPN", **keys: Any) -> str:
        return self.add_entry(name, self.lines(**keys))

    def client(self, argv: list[str], timeout: float = 60) -> Any:
        return self.server.client_run(argv, timeout)

    def http_get(self, path: str = "/", timeout: float = 10) -> str:
        """curl from the client namespace to the server's LAN: only the tunnel leads there."""
        url = f"http://198.51.100.1:{self.server.http_port}{path}"
        r = self.client(["curl", "-s", "--max-time", str(timeout), url], timeout=timeout + 5)
        return r.stdout if r.returncode == 0 else ""

    def client_sas(self) -> str:
        """The daemon's charon's IKE_SAs, over its own VICI socket."""
        vici = self.daemon.home / "charon" / "charon.vici"
        if not vici.exists():
            return ""
        r = self.client(["swanctl", "--list-sas", "--uri", f"unix://{vici}"])
        return r.stdout

    def links(self) -> str:
        return self.client(["ip", "-o", "addr"]).stdout

    def routes(self) -> str:
        return self.client(["ip", "route", "show", "table", "all"]).stdout


def names(notes: list[Notification]) -> list[str]:
    return [n.state.name for n in notes]
