"""Helpers of the PPP lab: slirp in a fresh network namespace with only ``lo``, and an openras
daemon running inside that same namespace.

The daemon's TUN interface and routes live in that namespace; the HTTP server a test starts
there on 127.0.0.1:PORT is what slirp's 10.0.2.2:PORT reaches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import Daemon
from peers.http import SERVER as HTTP_SERVER
from peers.slirp import Slirp
from ras_helpers import DialLab, wait_for  # noqa: F401 - shared with the SSH tests; re-exported

from openras.client.ras import Notification

# Short keepalive so a dead peer is detected within seconds (bound: interval × (failure + 1)).
ECHO_INTERVAL = 1.0
ECHO_FAILURE = 3
KEEPALIVE_BOUND = ECHO_INTERVAL * (ECHO_FAILURE + 1) + 2.0

DAEMON_CONFIG = f"""
[daemon]
failed_handle_grace = 60
[devices.tcp]
echo_interval = {ECHO_INTERVAL}
echo_failure = {ECHO_FAILURE}
restart_timer = 1.0
max_configure = 4
[devices.serial]
echo_interval = {ECHO_INTERVAL}
echo_failure = {ECHO_FAILURE}
restart_timer = 1.0
[devices.modem]
echo_interval = {ECHO_INTERVAL}
echo_failure = {ECHO_FAILURE}
restart_timer = 1.0
guard_time = 0.1
"""

PPP_STATES = [
    "OpenPort",
    "PortOpened",
    "DeviceConnected",
    "AllDevicesConnected",
    "AuthProject",
    "Projected",
    "Connected",
]
PPP_AUTH_STATES = [
    "OpenPort",
    "PortOpened",
    "DeviceConnected",
    "AllDevicesConnected",
    "Authenticate",
    "Authenticated",
    "AuthProject",
    "Projected",
    "Connected",
]


@dataclass
class Lab(DialLab):
    slirp: Slirp
    daemon: Daemon
    helpers: list[subprocess.Popen[Any]] = field(default_factory=list)
    modem: Any = None  # peers.modem.FakeModem: the entry dials through it

    default_entry = "lab"

    @property
    def credentials(self) -> tuple[str, str]:
        return self.slirp.user, self.slirp.password

    @property
    def netns(self) -> str:
        return self.slirp.netns

    def entry(self, name: str = "lab", **keys: str | int) -> str:
        if self.modem is not None:
            lines = [
                ["MEDIA", "serial"],
                ["Port", str(self.modem.port)],
                ["DEVICE", "modem"],
                ["PhoneNumber", "5551234"],
            ]
        elif self.slirp.transport == "tcp":
            lines = [
                ["MEDIA", "none"],
                ["DEVICE", "tcp"],
                ["PhoneNumber", f"127.0.0.1:{self.slirp.port}"],
            ]
        else:
            lines = [["MEDIA", "serial"], ["Port", str(self.slirp.pty)], ["DEVICE", "serial"]]
        lines += [[k, str(v)] for k, v in keys.items()]
        return self.add_entry(name, lines)

    def run(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a short command inside the namespace."""
        return subprocess.run(
            self.slirp.netns_cmd(argv), capture_output=True, text=True, timeout=timeout
        )

    def http_server(self, root: str) -> int:
        """An HTTP server on the namespace's 127.0.0.1 (slirp's 10.0.2.2 reaches it); returns its
        port."""
        proc = self.slirp.netns_popen(
            [sys.executable, "-c", HTTP_SERVER, root],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
        return int(line)

    def serve_file(self, directory: Path, name: str, content: bytes) -> int:
        """``content`` as ``directory/name``, served by :meth:`http_server`; returns its port."""
        (directory / name).write_bytes(content)
        os.chmod(directory, 0o755)  # pytest makes it 0700
        return self.http_server(str(directory))

    def links(self) -> str:
        return self.run(["ip", "-o", "link"]).stdout

    def routes(self) -> str:
        return self.run(["ip", "route"]).stdout


def names(notes: list[Notification]) -> list[str]:
    return [n.state.name for n in notes]


def slirp_pids(lab: Lab) -> list[int]:
    """The slirp processes serving this lab (found among the namespace's PIDs by their
    executable)."""
    import os

    out = []
    for pid in lab.slirp.netns_pids():
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            continue
        if exe == "slirp-fullbolt":
            out.append(pid)
    return out
