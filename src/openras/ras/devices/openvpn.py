"""The OpenVPN device: a real ``openvpn`` client process driven through its management interface.

Entry keys: ``DEVICE=vpn``, ``VpnStrategy=OpenVpn``, ``OpenVpnConfig=path`` (read as the dialing
user; see ``link/openvpn_config.py`` for what is refused or rewritten), ``OpenVpnTimeout`` (s
from start to CONNECTED, default 30), ``OpenVpnPing``/``OpenVpnPingRestart`` (keepalive used
when neither the config nor the server sets one), ``IpPrioritizeRemote`` (1 = default route
through the tunnel, honoured only for privileged dialers, as for PPP). ``[devices.openvpn]``
options: ``binary``, ``timeout``, ``hangup_timeout``, ``ping``, ``ping_restart``,
``default_route_uids``.

The daemon owns the process: its own session, ``setpriv --pdeathsig TERM`` (when the daemon
dies) and ``--management-client`` (openvpn connects to a socket the daemon listens on, in a
0700 directory, and quits when that connection closes). The config reaches openvpn through a
pipe (``--config /dev/fd/N``), never a file. User name and password are answered on the
management socket only (``--auth-nocache``, ``--auth-retry none``); the log lines that echo
management commands are never kept or logged.

RASCS mapping (each state entered once, in order; a later openvpn step enters every RASCS
state before it that was skipped, e.g. openvpn 2.6 never reports GET_CONFIG):

    OpenPort             config read and checked, process started
    PortOpened           openvpn connected to the management socket (>HOLD)
    ConnectDevice        hold released; WAIT / RESOLVE / TCP_CONNECT
    DeviceConnected      AUTH: the server answered, TLS handshake running
    AllDevicesConnected  "Peer Connection Initiated": TLS done, server certificate verified
    Authenticate         (at once) user name and password checked by the server
    Authenticated        PUSH_REPLY received (or GET_CONFIG): the server accepted the user
    Projected            ASSIGN_IP / ADD_ROUTES: tunnel address and routes set
    Connected            CONNECTED,SUCCESS (resolver file written), reported by the manager

Failures: 691 ``>PASSWORD:Verification Failed`` / ``EXITING,auth-failure`` (in Authenticate);
810 ERROR_VPN_BAD_CERT a TLS verification error (``VERIFY … ERROR``); 809 ERROR_VPN_TIMEOUT
no CONNECTED within OpenVpnTimeout (808 ERROR_VPN_REFUSED when the last try was refused);
625 a config openvpn or openras refuses; 651 openvpn failed otherwise (its last log lines in
the detail). After Connected: ``RECONNECTING,ping-restart`` → 829 ERROR_LINK_FAILURE, other
``RECONNECTING``/``EXITING`` → 629; openvpn exiting or closing the socket → 829. openvpn is
then stopped (no silent reconnect): the manager's RedialOnLinkFailure dials again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import struct
from collections import deque
from pathlib import Path
from typing import Any

from ...codes import RASCS, ErrorCode, RasError
from ...codes.states import RASP_PppIp
from ...timeouts import within
from ...users import is_privileged
from ..link import openvpn_mgmt as mgmt
from ..link.if_counters import interface_statistics
from ..link.openvpn_config import ConfigRefused, PreparedConfig, prepare
from ..link.resolv import remove_resolv, write_resolv
from ..records import LinkStatistics, LinkStatus, PppIpProjection, Projection, Scalar
from ..userfiles import resolve_user_path
from .base import Device, DialContext, default_route, entry_number, read_user_file
from .cached_counters import CachedCounters

VERIFY_ERROR = re.compile(r"VERIFY (?:\w+ )?ERROR|certificate verify failed")
ROUTE_ADD = re.compile(r"net_route_v[46]_add: (\S+)")
TUN_OPENED = re.compile(r"TUN/TAP device (\S+) opened")
PUSH_REPLY = "PUSH: Received control message: 'PUSH_REPLY,"
SECRET_ECHO = "MANAGEMENT: CMD"  # openvpn echoes our commands (the user name) in its log
TAIL = 20

# RASCS order of an OpenVPN dial.
ORDER = (
    RASCS.OpenPort,
    RASCS.PortOpened,
    RASCS.ConnectDevice,
    RASCS.DeviceConnected,
    RASCS.AllDevicesConnected,
    RASCS.Authenticate,
    RASCS.Authenticated,
    RASCS.Projected,
)
STATE_STEP = {
    mgmt.OvpnState.CONNECTING: RASCS.ConnectDevice,
    mgmt.OvpnState.WAIT: RASCS.ConnectDevice,
    mgmt.OvpnState.RESOLVE: RASCS.ConnectDevice,
    mgmt.OvpnState.TCP_CONNECT: RASCS.ConnectDevice,
    mgmt.OvpnState.AUTH: RASCS.DeviceConnected,
    mgmt.OvpnState.AUTH_PENDING: RASCS.Authenticate,
    mgmt.OvpnState.GET_CONFIG: RASCS.Authenticated,
    mgmt.OvpnState.ASSIGN_IP: RASCS.Projected,
    mgmt.OvpnState.ADD_ROUTES: RASCS.Projected,
}


def _pdeathsig_wrapper() -> list[str]:
    """``setpriv --pdeathsig TERM --``: openvpn gets SIGTERM when the daemon dies. setpriv execs
    openvpn (same PID); a preexec_fn would do the same but forbids vfork, and forking the
    daemon costs 10-20 ms per dial."""
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _number(ctx: DialContext, key: str, option: str, default: float) -> float:
    """A time in seconds from the entry or ``[devices.openvpn]``: it must be positive."""
    number = entry_number(ctx.entry, key, ctx.options, option, default)
    if number <= 0:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{key}={number:g} must be positive")
    return number


def pushed_options(line: str) -> list[str]:
    """The options of a logged PUSH_REPLY ("PUSH: Received control message: 'PUSH_REPLY,a,b'")."""
    body = line[line.index(PUSH_REPLY) + len(PUSH_REPLY) :].rstrip("'")
    return [o.strip() for o in body.split(",") if o.strip()]


class OpenVpnDevice(Device):
    device_type = "vpn"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.config: PreparedConfig | None = None
        self.ifname = ""
        self.proc: asyncio.subprocess.Process | None = None
        self.sock_path: Path | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._attached: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = (
            None
        )
        self._outcome: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._step = -1  # index into ORDER of the last state entered
        self._dialing = True
        self._connected = False
        self._closing = False
        self._lost = False
        self._closed = asyncio.Event()
        self._cert_error = ""
        self._refused = False
        self.last_reason = ""
        self.tail: deque[str] = deque(maxlen=TAIL)
        self.ovpn_state = ""
        self.local_ip = ""
        self.server_ip = ""
        self.server_port = ""
        self.gateway = ""
        self.dns: list[str] = []
        self.routes: list[str] = []
        self.resolv_file: Path | None = None
        self.route_note: str | None = None
        self.setup_errors = False
        self.bytes_in = self.bytes_out = 0
        self.counters = CachedCounters(self.refresh_statistics)

    @property
    def device_name(self) -> str:
        if self.config is not None and self.config.remotes:
            return "openvpn:" + self.config.remotes[0].replace(" ", ":")
        return "openvpn"

    # -- progress -------------------------------------------------------------------------

    def _advance(self, state: RASCS) -> None:
        """Enter ``state`` and every state before it not yet entered (never backwards)."""
        target = ORDER.index(state)
        while self._dialing and not self._closing and self._step < target:
            self._step += 1
            self.ctx.progress(ORDER[self._step])

    def _fail(self, code: int, detail: str, state: RASCS | None = None) -> None:
        if state is not None:
            self._advance(state)
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_exception(RasError(code, detail))

    # -- dial -----------------------------------------------------------------------------

    async def dial(self) -> None:
        ctx = self.ctx
        self._advance(RASCS.OpenPort)
        loop = asyncio.get_running_loop()
        timeout = _number(ctx, "OpenVpnTimeout", "timeout", 30.0)
        deadline = loop.time() + timeout
        self._outcome = loop.create_future()
        self.config = await asyncio.to_thread(self._prepare)
        binary = shutil.which(
            str(ctx.options.get("binary", "openvpn")), path="/usr/sbin:/usr/bin:/sbin:/bin"
        )
        if binary is None:
            raise RasError(ErrorCode.ERROR_PORT_NOT_AVAILABLE, "openvpn is not installed")
        from ..link.tun import interface_name

        self.ifname = interface_name(ctx.entry.name)
        await self._listen()
        await self._spawn(binary)
        assert self._attached is not None and self.proc is not None
        reader, self._writer = await self._wait(self._attached, deadline)
        self._advance(RASCS.PortOpened)
        self._send(b"state on\nlog on\nbytecount 1\n")
        self._tasks.append(asyncio.create_task(self._pump(reader)))
        await self._wait(self._outcome, deadline)
        await self._write_resolv()
        self._dialing = False
        self._connected = True

    async def _wait(self, future: asyncio.Future[Any], deadline: float) -> Any:
        """``future``'s result; a failure reported meanwhile (``_outcome``) or the deadline ends
        it."""
        assert self._outcome is not None
        remaining = max(deadline - asyncio.get_running_loop().time(), 0)
        await asyncio.wait(
            {future, self._outcome}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
        )
        if self._outcome.done() and self._outcome.exception() is not None:
            raise self._outcome.exception()  # type: ignore[misc]
        if future.done():
            return future.result()
        if self._refused:
            raise RasError(
                ErrorCode.ERROR_VPN_REFUSED,
                f"the server refused the connection ({self.last_reason or 'connection refused'})",
            )
        raise RasError(
            ErrorCode.ERROR_VPN_TIMEOUT,
            "no answer from the VPN server in time"
            + (f" (last: {self.last_reason})" if self.last_reason else ""),
        )

    def _prepare(self) -> PreparedConfig:
        """Read and rewrite the entry's config as the dialing user (blocking: runs in a thread)."""
        ctx = self.ctx
        # Relative to the dialing user's home, never the daemon's working directory.
        path = resolve_user_path(
            ctx.entry.get("OpenVpnConfig") or "", ctx.owner_uid, "OpenVpnConfig"
        )
        text = read_user_file(path, ctx.owner_uid, "OpenVpnConfig").decode("utf-8", "replace")
        base = os.path.dirname(path)
        privileged = is_privileged(ctx.owner_uid)
        default_ok, self.route_note = default_route(ctx)
        if self.route_note:
            ctx.log.info("handle %d: %s", ctx.handle, self.route_note)

        def read_file(name: str, private: bool) -> str:
            full = os.path.join(base, name)
            return read_user_file(full, ctx.owner_uid, f"{path}: {name}", private).decode(
                "utf-8", "replace"
            )

        ping = int(_number(ctx, "OpenVpnPing", "ping", 10))
        restart = int(_number(ctx, "OpenVpnPingRestart", "ping_restart", 60))
        try:
            prepared = prepare(text, read_file, privileged, default_ok)
        except ConfigRefused as exc:
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"OpenVpnConfig {path}: {exc}"
            ) from None
        # Keepalive defaults go first: the config's own and the server's pushed values win.
        prepared.text = f"ping {ping}\nping-restart {restart}\n" + prepared.text
        return prepared

    async def _listen(self) -> None:
        directory = self.ctx.state_dir / "openvpn"
        await asyncio.to_thread(directory.mkdir, mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self.sock_path = directory / f"{self.ctx.handle}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()
        self._attached = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_unix_server(self._on_client, str(self.sock_path))
        os.chmod(self.sock_path, 0o600)

    def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        pid = 0
        if sock is not None:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid = struct.unpack("3i", creds)[0]
        # Only our own child may drive this link.
        if (
            self.proc is None
            or pid != self.proc.pid
            or self._attached is None
            or self._attached.done()
        ):
            writer.close()
            return
        self._attached.set_result((reader, writer))

    async def _spawn(self, binary: str) -> None:
        assert self.config is not None and self.sock_path is not None
        ctx = self.ctx
        privileged = is_privileged(ctx.owner_uid)
        read_end, write_end = os.pipe()
        argv = [
            *_pdeathsig_wrapper(),
            binary,
            "--config",
            f"/dev/fd/{read_end}",
            "--dev",
            self.ifname,
            "--dev-type",
            "tun",
            "--management",
            str(self.sock_path),
            "unix",
            "--management-client",
            "--management-hold",
            "--management-query-passwords",
            "--auth-retry",
            "none",
            "--auth-nocache",
            "--verb",
            "3",
            "--suppress-timestamps",
        ]
        if not privileged:
            argv += ["--script-security", "1"]
        config_dir = str(
            Path(ctx.entry.get("OpenVpnConfig") or "/").parent
        )  # no I/O: the entry's path
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                pass_fds=(read_end,),
                start_new_session=True,
                cwd=config_dir if privileged else "/",
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
            )
        finally:
            os.close(read_end)
        ctx.log.info(
            "handle %d: openvpn pid %d, interface %s", ctx.handle, self.proc.pid, self.ifname
        )
        data = self.config.text.encode()

        def feed() -> None:  # a big config fills the pipe: write it off the loop
            try:
                os.write(write_end, data) if len(data) < 4096 else _write_all(write_end, data)
            except OSError:
                pass  # openvpn exited early: its output says why
            finally:
                os.close(write_end)

        self._tasks.append(asyncio.create_task(asyncio.to_thread(feed)))
        self._tasks.append(asyncio.create_task(self._read_output()))
        self._tasks.append(asyncio.create_task(self._watch_process()))

    async def _read_output(self) -> None:
        """openvpn's stdout: the lines before the management connection (options errors)."""
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if SECRET_ECHO not in text and text:
                self.tail.append(text)

    async def _watch_process(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        await asyncio.sleep(0)  # let the pump and output reader take their last lines first
        detail = f"openvpn exited with status {code}: " + " | ".join(list(self.tail)[-4:])
        if self._dialing:
            options_error = any("Options error" in t for t in self.tail)
            self._fail(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK if options_error else ErrorCode.ERROR_FROM_DEVICE,
                detail,
            )
        else:
            self._link_lost(ErrorCode.ERROR_LINK_FAILURE, detail)

    def _send(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    # -- management events ------------------------------------------------------------------

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        parser = mgmt.MgmtParser()
        while data := await reader.read(65536):
            for event in parser.feed(data):
                self._on_event(event)
        if self._dialing:
            self._fail(
                ErrorCode.ERROR_FROM_DEVICE,
                "openvpn closed the management connection: " + " | ".join(list(self.tail)[-4:]),
            )
        else:
            self._link_lost(
                ErrorCode.ERROR_LINK_FAILURE, "openvpn closed the management connection"
            )

    def _on_event(self, event: mgmt.Event) -> None:
        if isinstance(event, mgmt.Hold):
            if self._dialing and not self._closing:
                self._send(b"hold release\n")
                self._advance(RASCS.ConnectDevice)
        elif isinstance(event, mgmt.State):
            self._on_state(event)
        elif isinstance(event, mgmt.Password):
            self._on_password(event)
        elif isinstance(event, mgmt.Log):
            self._on_log(event)
        elif isinstance(event, mgmt.Fatal):
            self.tail.append(event.text)
            self._fail(ErrorCode.ERROR_FROM_DEVICE, f"openvpn: {event.text}")
        elif isinstance(event, mgmt.ByteCount):
            self.bytes_in, self.bytes_out = event.bytes_in, event.bytes_out
        elif isinstance(event, mgmt.Error):
            self.ctx.log.info(
                "handle %d: openvpn management: ERROR: %s", self.ctx.handle, event.text
            )

    def _on_state(self, event: mgmt.State) -> None:
        kind = event.state
        self.ovpn_state = event.name
        self.ctx.log.debug(
            "handle %d: openvpn state %s %s", self.ctx.handle, event.name, event.desc
        )
        if not self._dialing:
            if kind is mgmt.OvpnState.RECONNECTING:
                code = (
                    ErrorCode.ERROR_LINK_FAILURE
                    if "ping" in event.desc
                    else ErrorCode.ERROR_REMOTE_DISCONNECTION
                )
                self._link_lost(code, f"openvpn reconnecting ({event.desc})")
            elif kind is mgmt.OvpnState.EXITING:
                self._link_lost(
                    ErrorCode.ERROR_REMOTE_DISCONNECTION, f"openvpn exiting ({event.desc})"
                )
            return
        if event.local_ip and kind in (mgmt.OvpnState.ASSIGN_IP, mgmt.OvpnState.CONNECTED):
            self.local_ip = event.local_ip
        step = STATE_STEP.get(kind)
        if step is not None:
            self._advance(step)
        elif kind is mgmt.OvpnState.CONNECTED:
            self.server_ip, self.server_port = event.remote_ip, event.remote_port
            self.setup_errors = event.desc != "SUCCESS"
            self._advance(RASCS.Projected)
            if self._outcome is not None and not self._outcome.done():
                self._outcome.set_result(None)
        elif kind is mgmt.OvpnState.RECONNECTING:
            self.last_reason = event.desc
            if self._cert_error:
                self._fail(
                    ErrorCode.ERROR_VPN_BAD_CERT,
                    f"server certificate not accepted: {self._cert_error}",
                )
            elif event.desc == "auth-failure":
                self._fail(
                    ErrorCode.ERROR_AUTHENTICATION_FAILURE,
                    "the server rejected the credentials",
                    RASCS.Authenticate,
                )
            # Otherwise openvpn holds again: released on >HOLD, tried until OpenVpnTimeout.
        elif kind is mgmt.OvpnState.EXITING:
            if event.desc == "auth-failure":
                self._fail(
                    ErrorCode.ERROR_AUTHENTICATION_FAILURE,
                    "the server rejected the credentials",
                    RASCS.Authenticate,
                )
            else:
                self._fail(ErrorCode.ERROR_FROM_DEVICE, f"openvpn exiting ({event.desc})")

    def _on_password(self, event: mgmt.Password) -> None:
        params = self.ctx.params
        if event.kind is mgmt.PasswordKind.FAILED:
            self._fail(
                ErrorCode.ERROR_AUTHENTICATION_FAILURE,
                f"the server rejected the credentials ({event.realm})",
                RASCS.Authenticate,
            )
            return
        if event.kind is not mgmt.PasswordKind.NEED or not self._dialing:
            return
        if event.wants_username and not params.user:
            self._fail(ErrorCode.ERROR_AUTHENTICATION_FAILURE, "no user name for the OpenVPN login")
            return
        try:
            self._send(
                mgmt.credential_commands(
                    event.realm, params.user if event.wants_username else None, params.password
                )
            )
        except ValueError:
            self._fail(
                ErrorCode.ERROR_INVALID_PARAMETER, "the user name or password holds a line break"
            )

    def _on_log(self, event: mgmt.Log) -> None:
        text = event.text
        if SECRET_ECHO in text or text.startswith("MANAGEMENT: >STATE"):
            return
        self.tail.append(text)
        if event.flags in ("F", "N"):
            self.ctx.log.info("handle %d: openvpn: %s", self.ctx.handle, text)
        if "Peer Connection Initiated" in text:
            self._advance(RASCS.Authenticate)
        elif PUSH_REPLY in text:
            self._pushed(pushed_options(text))
            self._advance(RASCS.Authenticated)
        elif VERIFY_ERROR.search(text):
            self._cert_error = self._cert_error or text
        elif "Connection refused" in text or "ECONNREFUSED" in text:
            self._refused = True
        elif "AUTH_FAILED" in text:
            self._fail(
                ErrorCode.ERROR_AUTHENTICATION_FAILURE,
                "the server rejected the credentials",
                RASCS.Authenticate,
            )
        elif m := ROUTE_ADD.search(text):
            self.routes.append(m.group(1))
        elif m := TUN_OPENED.search(text):
            self.ifname = m.group(1)

    def _pushed(self, options: list[str]) -> None:
        for option in options:
            words = option.split()
            if words[:2] == ["dhcp-option", "DNS"] and len(words) > 2:
                self.dns.append(words[2])
            elif words[:2] == ["dhcp-option", "DNS6"] and len(words) > 2:
                self.dns.append(words[2])
            elif words[:1] == ["route-gateway"] and len(words) > 1:
                self.gateway = words[1]
            elif words[:1] == ["dns"] and len(words) >= 5 and words[3] == "address":
                self.dns.extend(w for w in words[4:])  # 2.6 "dns server N address A [B …]"

    async def _write_resolv(self) -> None:
        if self.dns:
            self.resolv_file = await asyncio.to_thread(
                write_resolv, self.ctx.state_dir / "resolv", self.ifname, self.dns
            )

    # -- after Connected ----------------------------------------------------------------------

    def _link_lost(self, code: int, detail: str) -> None:
        if not self._connected or self._closing or self._lost:
            return
        self._lost = True
        self._connected = False
        remove_resolv(self.resolv_file)  # at once: the manager's hang-up of the device follows
        self.resolv_file = None
        self.ctx.link_lost(code, detail)

    async def hangup(self) -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._dialing = False
        try:
            await self._stop_process()
            if self._writer is not None:
                self._writer.close()
            if self._server is not None:
                self._server.close()
            if self.sock_path is not None:
                with contextlib.suppress(OSError):
                    self.sock_path.unlink()
            remove_resolv(self.resolv_file)
            self.resolv_file = None
            for task in self._tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            self._closed.set()

    async def _stop_process(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        wait = float(self.ctx.options.get("hangup_timeout", 3.0))
        # Through the management socket first (a clean exit restores routes); SIGTERM if detached.
        if self._writer is not None and not self._writer.is_closing():
            self._send(b"signal SIGTERM\n")
        else:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            await within(proc.wait(), wait)
        except TimeoutError:
            # The leader is alive and unreaped, so its process group number is still ours.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    # -- queries ------------------------------------------------------------------------------

    def projection(self, kind: int) -> Projection:
        if kind == RASP_PppIp:
            dns = [*[d for d in self.dns if ":" not in d], "", ""]
            return PppIpProjection(
                dwError=0 if self.local_ip else ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED,
                szIpAddress=self.local_ip,
                szServerIpAddress=self.gateway or self.server_ip,
                szDnsAddress=dns[0],
                szDns2Address=dns[1],
            )
        return super().projection(kind)

    def statistics(self) -> LinkStatistics:
        """Bytes: the management interface's BYTECOUNT (the link's, every second); packets and
        errors: the kernel's counters of the TUN interface openvpn drives (last read)."""
        self.counters.stale()
        return dataclasses.replace(
            self.counters.value, dwBytesXmited=self.bytes_out, dwBytesRcved=self.bytes_in
        )

    async def refresh_statistics(self) -> None:
        up = self.proc is not None and self.proc.returncode is None
        if up and self.ifname and self._step >= ORDER.index(RASCS.Projected):
            self.counters.value = await asyncio.to_thread(interface_statistics, self.ifname)

    def status(self) -> LinkStatus:
        up = self.proc is not None and self.proc.returncode is None
        projected = up and self._step >= ORDER.index(RASCS.Projected)
        extra: dict[str, Scalar] = {
            "server": f"{self.server_ip}:{self.server_port}" if self.server_ip else None,
            "openvpn_pid": self.proc.pid if up and self.proc else None,
            "openvpn_state": self.ovpn_state,
            "openvpn_setup_errors": self.setup_errors,
            "config_dropped": "; ".join(self.config.dropped) if self.config else "",
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }
        return LinkStatus(
            interface=self.ifname if projected else None,
            interface_reason=None if projected else "the tunnel is not up",
            local_address=self.local_ip or None,
            remote_address=self.gateway or None,
            dns=tuple(self.dns),
            resolv_conf=str(self.resolv_file) if self.resolv_file else None,
            routes=tuple(self.routes),
            default_route=any(r in ("0.0.0.0/0", "0.0.0.0/1") for r in self.routes),
            route_note=self.route_note,
            extra=extra,
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
