"""The OpenVPN lab: server namespace + client namespace, the openras daemon in the client one."""

from __future__ import annotations

import os
from pathlib import Path

from harness import Daemon
from peers.openvpn import OpenVpnServer
from ras_helpers import SSH_STATES, DialLab, wait_for  # noqa: F401 - re-exported for the tests

import openras
from openras.client.ras import Notification

# Every state of a dial, as for SSH: the same nine RASCS steps.
OPENVPN_STATES = SSH_STATES
SRC = str(Path(openras.__file__).resolve().parents[1])

DAEMON_CONFIG = """
[daemon]
failed_handle_grace = 60
[devices.openvpn]
timeout = 20
"""


class VpnDaemon(Daemon):
    """The daemon runs the openras these tests import (a worktree's src, not the venv's)."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env["PYTHONPATH"] = SRC
        return env


class VpnLab(DialLab):
    default_entry = "Office VPN"

    @property
    def credentials(self) -> tuple[str, str]:
        return self.server.user, self.server.password

    def __init__(self, server: OpenVpnServer, config: str = "") -> None:
        self.server = server
        self.daemon = VpnDaemon(DAEMON_CONFIG + config, netns=server.client_ns)

    def start(self) -> None:
        self.server.start()
        self.daemon.start()

    def cleanup(self) -> None:
        self.daemon.cleanup()  # before the namespaces go (it owns the client's openvpn)
        self.server.cleanup()

    def daemon_python(self) -> str:
        from harness import PYTHON

        return PYTHON

    def entry(self, name: str = "Office VPN", config: Path | None = None, **keys: str | int) -> str:
        path = config or self.server.client_config()
        lines = [
            ["MEDIA", "none"],
            ["DEVICE", "vpn"],
            ["VpnStrategy", "OpenVpn"],
            ["OpenVpnConfig", str(path)],
        ]
        lines += [[k, str(v)] for k, v in keys.items()]
        return self.add_entry(name, lines)

    def links(self) -> str:
        return self.server.run_client_ns(["ip", "-o", "link"]).stdout

    def routes(self) -> str:
        return self.server.run_client_ns(["ip", "route"]).stdout

    def client_openvpns(self) -> list[int]:
        return self.server.openvpn_pids(self.server.client_ns)

    def resolv_dir(self) -> Path:
        return self.daemon.home / "state" / "resolv"

    def resolv_files(self) -> list[str]:
        root = self.daemon.home
        return [str(p) for p in root.rglob("resolv/*.conf")] if root.exists() else []

    def http_get(self, url: str, timeout: float = 10) -> str:
        """GET from inside the client namespace (through the tunnel)."""
        code = (
            "import sys, urllib.request; "
            f"sys.stdout.write(urllib.request.urlopen({url!r}, timeout={timeout}).read().decode())"
        )
        result = self.server.run_client_ns(
            [os.environ.get("PYTHON", "python3"), "-c", code], timeout=timeout + 5
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def names(notes: list[Notification]) -> list[str]:
    return [n.state.name for n in notes]
