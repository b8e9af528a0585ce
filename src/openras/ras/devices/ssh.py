"""The SSH device: an SSH session whose projection is a SOCKS5 listener on 127.0.0.1.

States: OpenPort (name resolution, TCP connect) → PortOpened → ConnectDevice (key exchange)
→ DeviceConnected (host key verified against SshKnownHosts) → AllDevicesConnected →
Authenticate → Authenticated → Projected (SOCKS listening) → Connected (by the manager).
Host keys are always checked against SshKnownHosts (default: the dialing user's
``~/.ssh/known_hosts``): an unknown or changed key fails the dial with 857 and the key's
fingerprint, a missing file with 864 (see hostkeys.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import socket
from dataclasses import dataclass

import asyncssh

from ... import hostkeys
from ...codes import RASCS, ErrorCode, RasError
from ...codes.states import RASP_PppIp, RASP_Socks
from ...timeouts import within
from ...users import login_name
from ..records import (
    LinkStatistics,
    LinkStatus,
    PppIpProjection,
    Projection,
    SocksProjection,
)
from .base import Device, DialContext, entry_number, read_user_file
from .net import tcp_connect
from .socks_guard import RelayCounters, open_guarded_socks

DEFAULT_PORT = 22


@dataclass(frozen=True)
class _SshFiles:
    known_path: str
    known_data: bytes | None  # None: the file is missing
    key_path: str
    key_data: bytes | None
    user: str


def split_host_port(value: str, default_port: int) -> tuple[str, int]:
    value = value.strip()
    if value.startswith("["):  # [v6addr]:port
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    if not host:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, "PhoneNumber has no host")
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise RasError(
            ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"bad port in PhoneNumber {value!r}"
        ) from None
    if not 0 < number < 65536:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"bad port in PhoneNumber {value!r}")
    return host, number


class _Client(asyncssh.SSHClient):
    """Reports progress from asyncssh's callbacks and hands out credentials one at a time."""

    def __init__(self, device: SshDevice) -> None:
        self.device = device
        self._password_given = False
        self._key_given = False

    def _auth_starting(self) -> None:
        # Any auth callback means key exchange finished and the host key was accepted.
        self.device._enter_auth()

    def auth_banner_received(self, msg: str, lang: str) -> None:
        self._auth_starting()

    def public_key_auth_requested(self) -> asyncssh.SSHKey | None:
        self._auth_starting()
        if self._key_given or self.device.key is None:
            return None
        self._key_given = True
        return self.device.key

    def password_auth_requested(self) -> str | None:
        self._auth_starting()
        if self._password_given or not self.device.ctx.params.password:
            return None
        self._password_given = True
        return self.device.ctx.params.password

    def kbdint_auth_requested(self) -> str | None:
        self._auth_starting()
        return None

    def auth_completed(self) -> None:
        self.device.ctx.progress(RASCS.Authenticated)

    def connection_lost(self, exc: Exception | None) -> None:
        self.device._lost(exc)


class SshDevice(Device):
    device_type = "ssh"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.host, self.port = "", 0
        self.key: asyncssh.SSHKey | None = None
        self.conn: asyncssh.SSHClientConnection | None = None
        self._sock: socket.socket | None = None  # ours until asyncssh's connection owns it
        self.listener: asyncssh.SSHListener | None = None
        self.server_addr = ""
        self.local_addr = ""
        self.socks_port = 0
        self.counters = RelayCounters()
        self._in_auth = False
        self._up = False
        self._closing = False

    @property
    def device_name(self) -> str:
        return f"ssh:{self.host}:{self.port}" if self.host else "ssh"

    def _option(self, entry_key: str, option: str, default: float) -> float:
        return entry_number(self.ctx.entry, entry_key, self.ctx.options, option, default)

    def _enter_auth(self) -> None:
        if not self._in_auth:
            self._in_auth = True
            for state in (RASCS.DeviceConnected, RASCS.AllDevicesConnected, RASCS.Authenticate):
                self.ctx.progress(state)

    def _read_files(self, trust: str) -> _SshFiles:
        """Blocking (NSS, files): SshKnownHosts (default: the dialing user's
        ~/.ssh/known_hosts; hostkeys.py), SshKey ("~" is the dialing user's too) and the login
        name. ``known_data`` is None when the known-hosts file is missing."""
        ctx = self.ctx
        uid = ctx.owner_uid
        known_path = hostkeys.resolve_for(
            ctx.entry.get("SshKnownHosts") or "", uid, "SshKnownHosts"
        )
        try:
            known_data: bytes | None = hostkeys.load(known_path, uid, trust, "SshKnownHosts")
        except RasError as exc:
            if exc.code != hostkeys.MISSING:
                raise
            known_data = None
        key_path = ctx.entry.get("SshKey") or ""
        key_data = None
        if key_path and known_data is not None:
            key_path = hostkeys.resolve_for(
                key_path, uid, "SshKey", ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK
            )
            key_data = read_user_file(key_path, uid, "SshKey", True)
        user = ctx.params.user or (login_name(uid) if known_data is not None else "")
        return _SshFiles(known_path, known_data, key_path, key_data, user)

    async def dial(self) -> None:
        ctx = self.ctx
        entry = ctx.entry
        ctx.progress(RASCS.OpenPort)
        self.host, self.port = split_host_port(ctx.phone_number, DEFAULT_PORT)
        trust = f"openras entry trust {shlex.quote(entry.name)}"
        # The files and the login name, read as the dialing user, in one trip to a thread.
        files = await asyncio.to_thread(self._read_files, trust)
        known_path = files.known_path
        if files.known_data is None:
            # Show the key the server offers, so the user can check it before trusting it.
            timeout = self._option("SshConnectTimeout", "connect_timeout", 20)
            offered = await hostkeys.server_key(self.host, self.port, timeout)
            raise hostkeys.missing(known_path, offered, trust) from None
        known_hosts = hostkeys.parse(files.known_data, known_path)
        if files.key_data is not None:
            try:
                self.key = asyncssh.import_private_key(files.key_data)
            except (ValueError, asyncssh.KeyImportError) as exc:
                raise RasError(
                    ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK, f"SshKey {files.key_path}: {exc}"
                ) from None
        user = files.user
        if not user:
            raise RasError(ErrorCode.ERROR_AUTHENTICATION_FAILURE, "no user name for the SSH login")
        socks_port = int(self._option("SocksPort", "socks_port", 0))
        if not 0 <= socks_port < 65536:
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"SocksPort={socks_port}")
        if 0 < socks_port < 1024 and ctx.owner_uid != 0:
            raise RasError(
                ErrorCode.ERROR_ACCESS_DENIED,
                f"SocksPort={socks_port}: privileged ports are root's",
            )
        timeout = self._option("SshConnectTimeout", "connect_timeout", 20)
        sock = self._sock = await tcp_connect(self.host, self.port, timeout)
        ctx.progress(RASCS.PortOpened)
        ctx.progress(RASCS.ConnectDevice)
        try:
            self.conn = await within(
                asyncssh.connect(
                    sock=sock,
                    host=self.host,
                    port=self.port,
                    username=user,
                    known_hosts=known_hosts,
                    client_factory=lambda: _Client(self),
                    client_keys=None,
                    password=None,
                    agent_path=None,
                    config=None,
                    host_based_auth=False,
                    kbdint_auth=False,
                    gss_auth=False,
                    ignore_encrypted=True,
                    keepalive_interval=self._option(
                        "SshKeepAliveSeconds", "keepalive_interval", 15
                    ),
                    keepalive_count_max=int(
                        self._option("SshKeepAliveCount", "keepalive_count_max", 3)
                    ),
                    login_timeout=timeout,
                ),
                timeout + 5,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            offered = await hostkeys.server_key(self.host, self.port, timeout)
            raise hostkeys.untrusted(
                self.host, self.port, known_path, offered, exc.reason, trust
            ) from None
        except asyncssh.PermissionDenied as exc:
            raise RasError(ErrorCode.ERROR_AUTHENTICATION_FAILURE, exc.reason) from None
        except TimeoutError:
            sock.close()
            raise RasError(ErrorCode.ERROR_REQUEST_TIMEOUT, "SSH negotiation timed out") from None
        except (asyncssh.Error, OSError) as exc:
            sock.close()
            raise RasError(
                ErrorCode.ERROR_REMOTE_DISCONNECTION
                if self._in_auth
                else ErrorCode.ERROR_FROM_DEVICE,
                f"SSH: {exc}",
            ) from None
        self.server_addr = self.conn.get_extra_info("peername")[0]
        self.local_addr = self.conn.get_extra_info("sockname")[0]
        try:
            # Only the link's users get through (the peer's uid, from /proc/net/tcp).
            self.listener = await open_guarded_socks(
                self.conn, "127.0.0.1", socks_port, ctx.may_use, ctx.log, self.counters
            )
        except OSError as exc:
            raise RasError(
                ErrorCode.ERROR_PORT_ALREADY_OPEN, f"SOCKS port {socks_port}: {exc.strerror}"
            ) from None
        self.socks_port = self.listener.get_port()
        ctx.progress(RASCS.Projected)
        self._up = True

    def _lost(self, exc: Exception | None) -> None:
        if not self._up or self._closing:
            return
        self._up = False
        text = str(exc) if exc else "connection closed by the server"
        # asyncssh reports a keepalive failure as
        # ConnectionLost("Server not responding to keepalive").
        code = (
            ErrorCode.ERROR_LINK_FAILURE
            if exc and "keepalive" in text.lower()
            else ErrorCode.ERROR_REMOTE_DISCONNECTION
        )
        self.ctx.link_lost(code, text)

    async def hangup(self) -> None:
        self._closing = True
        self._up = False
        if self.listener is not None:
            self.listener.close()
            with contextlib.suppress(Exception):
                await within(self.listener.wait_closed(), 5)
        if self.conn is not None:
            self.conn.close()
            with contextlib.suppress(Exception):
                await within(self.conn.wait_closed(), 5)
        elif self._sock is not None:
            self._sock.close()  # hung up during key exchange: asyncssh never took the socket

    def projection(self, kind: int) -> Projection:
        if kind == RASP_PppIp:
            return PppIpProjection(
                szIpAddress="127.0.0.1",
                szServerIpAddress=self.server_addr,
                dwSocksPort=self.socks_port,
            )
        if kind == RASP_Socks:
            return SocksProjection(dwSocksPort=self.socks_port)
        return super().projection(kind)

    def statistics(self) -> LinkStatistics:
        return self.counters.statistics()

    def status(self) -> LinkStatus:
        return LinkStatus(
            socks_host="127.0.0.1",
            socks_port=self.socks_port,
            local_address=self.local_addr,
            remote_address=self.server_addr,
            extra={"server": self.server_addr},
        )
