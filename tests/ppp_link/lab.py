"""Helpers of the PPP lab: slirp in a fresh network namespace with only ``lo``, and an openras
daemon running inside that same namespace.

The daemon's TUN interface and routes live in that namespace; the HTTP server a test starts
there on 127.0.0.1:PORT is what slirp's 10.0.2.2:PORT reaches.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from harness import Daemon
from peers.http import SERVER as HTTP_SERVER
from peers.slirp import Slirp
from ras_helpers import wait_for  # noqa: F401 - shared with the SSH tests; re-exported

from openras.client import ApiError
from openras.client.ras import Notification, Ras
from openras.ras.records import ConnectionRecord

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
class Lab:
    slirp: Slirp
    daemon: Daemon
    helpers: list[subprocess.Popen[Any]] = field(default_factory=list)
    modem: Any = None  # peers.modem.FakeModem: the entry dials through it

    @property
    def netns(self) -> str:
        return self.slirp.netns

    def ras(self) -> Ras:
        return Ras(self.daemon.client())

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
        with self.daemon.client() as c:
            c.call("POST", "/v1/entries", json={"name": name, "lines": lines})
        return name

    def dial(
        self,
        name: str = "lab",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 60,
    ) -> tuple[int, list[Notification]]:
        """Dial and collect the notifications until the final one."""
        ras = self.ras()
        started = ras.dial(
            name,
            user=self.slirp.user if user is None else user,
            password=self.slirp.password if password is None else password,
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
