"""Helpers for RAS tests: entries pointing at the test sshd, waiting on the API, SOCKS probes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from openras.client import ApiError
from openras.client.ras import Notification, Ras
from openras.ras.records import ConnectionRecord

SSH_STATES = [
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


def ssh_entry(daemon: Any, sshd: Any, name: str = "lab", **extra: str) -> str:
    lines = [
        ["MEDIA", "none"],
        ["DEVICE", "ssh"],
        ["PhoneNumber", f"{sshd.host}:{sshd.port}"],
        ["SshKnownHosts", str(sshd.known_hosts)],
    ]
    lines += [[k, v] for k, v in extra.items()]
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": name, "lines": lines})
    return name


def silent_entry(daemon: Any, name: str, port: int, tmp_path: Any, **extra: str) -> str:
    """An SSH entry dialing a peer on loopback that never answers the handshake, with an
    empty known-hosts file: its dial stays in OpenPort / ConnectDevice until told otherwise."""
    known = tmp_path / f"{name}-known_hosts"
    known.write_text("")
    lines = [["DEVICE", "ssh"], ["PhoneNumber", f"127.0.0.1:{port}"], ["SshKnownHosts", str(known)]]
    lines += [[k, v] for k, v in extra.items()]
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": name, "lines": lines})
    return name


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached")


def status_or_none(daemon: Any, handle: int) -> dict[str, Any] | None:
    with daemon.client() as c:
        try:
            return c.call("GET", f"/v1/connections/{handle}")
        except ApiError as exc:
            assert exc.code == 6, exc
            return None


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def events_of(daemon: Any, handle: int | None = None) -> list[dict[str, Any]]:
    with daemon.client() as c:
        events = c.call("GET", "/v1/events/log", params={"since": 0, "limit": 10000})
    return [e for e in events if handle is None or e.get("handle") == handle]


class DialLab:
    """What every lab does with its daemon: add an entry, dial it to the final notification,
    read its status, hang it up until the handle is gone. A lab sets ``daemon`` and
    ``credentials`` (the peer's user and password)."""

    daemon: Any
    default_entry = "lab"

    @property
    def credentials(self) -> tuple[str, str]:
        raise NotImplementedError

    def ras(self) -> Ras:
        return Ras(self.daemon.client())

    def add_entry(self, name: str, lines: list[list[str]]) -> str:
        with self.daemon.client() as c:
            c.call("POST", "/v1/entries", json={"name": name, "lines": lines})
        return name

    def dial(
        self,
        name: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 60,
    ) -> tuple[int, list[Notification]]:
        """Dial and collect the notifications until the final one."""
        ras = self.ras()
        default_user, default_password = self.credentials
        started = ras.dial(
            name or self.default_entry,
            user=default_user if user is None else user,
            password=default_password if password is None else password,
        )
        notes: list[Notification] = []
        deadline = time.monotonic() + timeout
        for note in ras.notifications(started.handle, started.seq):
            notes.append(note)
            assert time.monotonic() < deadline, notes
        return started.handle, notes

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


def logged_events(store: Any) -> list[dict[str, Any]]:
    """An in-process store's event log, with the writes still batched for it (about 10 ms)
    applied first."""
    store.later.flush()
    return list(store.events_since(0, 100_000))


class SilentPeer:
    """A TCP listener that accepts and never says a word: an SSH dial's connect succeeds at
    once and its handshake waits there."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()
