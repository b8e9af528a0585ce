"""The OpenVPN lab: server namespace + client namespace, the openras daemon in the client one."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness import Daemon
from peers.openvpn import OpenVpnServer
from ras_helpers import wait_for  # noqa: F401 - re-exported for the tests

import openras
from openras.client import ApiError
from openras.client.ras import Notification, Ras
from openras.ras.records import ConnectionRecord

OPENVPN_STATES = [
    "OpenPort",
    "PortOpened",
    "ConnectDevice",
    "DeviceConnected",
    "AllDevicesConnected",
    "Authenticate",
    "Authenticated",
    "Projected",
    "Connected",
]
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


class VpnLab:
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

    def ras(self) -> Ras:
        return Ras(self.daemon.client())

    def entry(self, name: str = "Office VPN", config: Path | None = None, **keys: str | int) -> str:
        path = config or self.server.client_config()
        lines = [
            ["MEDIA", "none"],
            ["DEVICE", "vpn"],
            ["VpnStrategy", "OpenVpn"],
            ["OpenVpnConfig", str(path)],
        ]
        lines += [[k, str(v)] for k, v in keys.items()]
        with self.daemon.client() as c:
            c.call("POST", "/v1/entries", json={"name": name, "lines": lines})
        return name

    def dial(
        self,
        name: str = "Office VPN",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 60,
    ) -> tuple[int, list[Notification]]:
        ras = self.ras()
        started = ras.dial(
            name,
            user=self.server.user if user is None else user,
            password=self.server.password if password is None else password,
        )
        handle = started.handle
        notes: list[Notification] = []
        deadline = time.monotonic() + timeout
        for note in ras.notifications(handle, started.seq):
            notes.append(note)
            assert time.monotonic() < deadline, notes
        return handle, notes

    def status(self, handle: int) -> ConnectionRecord | None:
        try:
            return self.ras().status(handle)
        except ApiError as exc:
            assert exc.code == 6, exc
            return None

    def hangup(self, handle: int, timeout: float = 20) -> None:
        ras = self.ras()
        ras.hangup(handle)
        assert ras.wait_gone(handle, timeout), f"handle {handle} still there"

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
