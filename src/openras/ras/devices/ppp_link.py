"""The asyncio adapter between a byte transport (TCP, tty, pty) and the sans-IO ``PppEngine``.

``PppDevice`` is the base of the ``serial``, ``modem`` and ``tcp`` devices: a subclass only
opens its port (and, for a modem, dials). The RASCS states of a PPP dial:

    OpenPort → PortOpened → [ConnectDevice (AT dialing, modems only)] → DeviceConnected
    → AllDevicesConnected → [Authenticate → Authenticated: only when the peer asks us to
    authenticate] → AuthProject (IPCP/IPV6CP) → Projected → Connected (by the manager)

Failures carry the engine's LinkDown code (691 authentication, 718 negotiation time-out,
732 not converging, 733 rejected, 734 LCP terminated during negotiation, 738 no address);
after Connected: 629 peer Terminate-Request or transport closed, 829 echo keepalive dead.

Entry keys read here (besides the device's own; see ppp_devices.py for the full list):
``AuthRestrictions`` (Windows' bit mask: PAP 0x8, CHAP-MD5 0x20, MS-CHAPv2 0x200; 0 or
absent = all three), ``ExcludedProtocols`` (Windows' mask: 0x4 IPv4, 0x8 IPv6),
``IpAssign``/``IpAddress`` (2 = request IpAddress), ``IpNameAssign``/``IpDnsAddress``/
``IpDns2Address`` (2 = use these DNS servers instead of the negotiated ones),
``IpPrioritizeRemote`` (1 = default route through the link), ``IpInterfaceMetric``,
``PppEchoInterval`` (s, 0 = off) and ``PppEchoFailure`` (unanswered echoes before 829).
``[devices.<DEVICE>]`` options in openras.toml: ``echo_interval``, ``echo_failure``,
``restart_timer``, ``max_configure``, ``hangup_timeout``, ``tun`` (false: never make one).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from ipaddress import IPv4Address
from typing import Any

from ...codes import RASCS, ErrorCode, RasError
from ...codes.states import RASP_PppIp, RASP_PppIpv6, RASP_PppLcp
from ...ppp import (
    ROLE_PEER,
    AuthFailed,
    AuthMethod,
    AuthSucceeded,
    IpUp,
    Ipv6Up,
    LinkDown,
    LinkEstablished,
    PacketReceived,
    Phase,
    PhaseChanged,
    PppConfig,
    PppEngine,
    PppEvent,
)
from ..records import (
    LinkStatus,
    PppIpProjection,
    PppIpv6Projection,
    PppLcpProjection,
    Projection,
    Scalar,
)
from .base import Device, DialContext

# AuthRestrictions bits (Windows pbk.h AR_F_*); the ones openras can speak.
AR_F_AuthPAP = 0x8
AR_F_AuthMD5CHAP = 0x20
AR_F_AuthMSCHAP2 = 0x200
# ExcludedProtocols bits (Windows NP_*).
NP_Ip = 0x4
NP_Ipv6 = 0x8
# RASPPPLCP option flags.
RASLCPO_PFC = 0x1
RASLCPO_ACFC = 0x2

WRITE_HIGH_WATER = 256 * 1024  # bytes queued towards the line before the TUN reader pauses


class PortProtocol(asyncio.Protocol):
    """The transport's protocol: buffers bytes until the PPP link attaches (the AT dialog reads them)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.changed = asyncio.Event()
        self.closed = False
        self._sink: Any = None
        self._on_lost: Any = None
        self._drained: asyncio.Future[None] | None = None
        self.on_pause: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        with contextlib.suppress(AttributeError, NotImplementedError):
            transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._sink is not None:
            self._sink(data)
        else:
            self.buffer += data
            self.changed.set()

    def eof_received(self) -> bool:
        return False  # close our side too: PPP has no half-close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.changed.set()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self._on_lost is not None:
            self._on_lost()

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()
        if self.on_pause is not None:
            self.on_pause(self._drained)

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def attach(self, sink: Any, on_lost: Any) -> None:
        """From now on every byte goes to ``sink``; ``on_lost()`` when the transport closes."""
        pending = bytes(self.buffer)
        self.buffer.clear()
        self._sink, self._on_lost = sink, on_lost
        if pending:
            sink(pending)
        if self.closed:
            on_lost()

    def detach(self) -> None:
        """Bytes go to the buffer again (a modem's answer to the hang-up)."""
        self._sink = self._on_lost = None
        self.on_pause = None

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def read_some(self, wait: float) -> bytes:
        """The buffered bytes (waiting up to ``wait`` seconds for some); b'' on time-out or close."""
        if not self.buffer and not self.closed:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), wait)
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _number(ctx: DialContext, key: str, option: str, default: float) -> float:
    value: Any = ctx.entry.get(key)
    if value is None or str(value).strip() == "":
        value = ctx.options.get(option, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{key}={value!r} is not a number") from None
    if number < 0:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{key}={value!r} is negative")
    return number


def allowed_auth(restrictions: int) -> tuple[AuthMethod, ...]:
    """AuthRestrictions → the methods we agree to authenticate with, best first."""
    if restrictions == 0:  # AR_AuthAny
        return (AuthMethod.MSCHAP_V2, AuthMethod.CHAP_MD5, AuthMethod.PAP)
    methods = []
    if restrictions & AR_F_AuthMSCHAP2:
        methods.append(AuthMethod.MSCHAP_V2)
    if restrictions & AR_F_AuthMD5CHAP:
        methods.append(AuthMethod.CHAP_MD5)
    if restrictions & AR_F_AuthPAP:
        methods.append(AuthMethod.PAP)
    return tuple(methods)


def ppp_config(ctx: DialContext) -> PppConfig:
    entry = ctx.entry
    excluded = entry.get_int("ExcludedProtocols", 0)
    if excluded & NP_Ip and excluded & NP_Ipv6:
        raise RasError(ErrorCode.ERROR_PPP_NO_PROTOCOLS_CONFIGURED, "ExcludedProtocols excludes IPv4 and IPv6")
    local_ip = None
    if entry.get_int("IpAssign", 1) == 2:
        local_ip = entry.get("IpAddress") or None
    static_dns = entry.get_int("IpNameAssign", 1) == 2
    try:
        if static_dns:
            for key in ("IpDnsAddress", "IpDns2Address"):
                IPv4Address(entry.get(key) or "0.0.0.0")
        return PppConfig(
            username=ctx.params.user,
            password=ctx.params.password,
            allowed_auth=allowed_auth(entry.get_int("AuthRestrictions", 0)),
            echo_interval=_number(ctx, "PppEchoInterval", "echo_interval", 30.0),
            echo_max_unanswered=max(int(_number(ctx, "PppEchoFailure", "echo_failure", 4)), 1),
            restart_timer=float(ctx.options.get("restart_timer", 3.0)),
            max_configure=int(ctx.options.get("max_configure", 10)),
            ipv4=not excluded & NP_Ip,
            ipv4_required=not excluded & NP_Ip,
            ipv6=not excluded & NP_Ipv6,
            local_ip=local_ip,
            request_dns=not static_dns,
        )
    except ValueError as exc:  # a bad IpAddress / IpDnsAddress
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{entry.name}: {exc}") from None


class PppLink:
    """Drives one ``PppEngine`` over a ``PortProtocol``: bytes, timers, events, packets."""

    def __init__(self, port: PortProtocol, config: PppConfig, device: PppDevice) -> None:
        self.port = port
        self.engine = PppEngine(config)
        self.device = device
        self.loop = asyncio.get_running_loop()
        self.up: asyncio.Future[IpUp] = self.loop.create_future()
        self.done: asyncio.Future[LinkDown] = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.auth_message = ""
        self.auth_method: AuthMethod | None = None
        self.ipv6_up = False
        self.packet_sink: Any = None  # TunInterface.write once the interface exists

    def start(self) -> None:
        self.port.attach(self._received, self._lost)
        self.engine.start(self.loop.time())
        self._service()

    # -- bytes and time in ----------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        self.engine.receive_data(data, self.loop.time())
        self._service()

    def _lost(self) -> None:
        self.engine.connection_lost(self.loop.time())
        self._service()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.engine.handle_timer(self.loop.time())
        self._service()

    # -- bytes, events and timer out ------------------------------------------------------

    def _service(self) -> None:
        engine = self.engine
        data = engine.data_to_send()
        if data:
            self.port.write(data)
        while (event := engine.next_event()) is not None:
            self._event(event)
        data = engine.data_to_send()  # events handled above never queue output, but be safe
        if data:
            self.port.write(data)
        when = engine.get_timer()
        if when != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(when, self._on_timer) if when is not None else None
            self._timer_at = when

    def flush(self) -> None:
        data = self.engine.data_to_send()
        if data:
            self.port.write(data)

    def send_packet(self, packet: bytes) -> bool:
        """An IP packet towards the peer (call flush() after a batch)."""
        return self.engine.send_packet(packet)

    def _event(self, event: PppEvent) -> None:
        device = self.device
        if isinstance(event, PacketReceived):
            if self.packet_sink is not None:
                self.packet_sink(event.data)
        elif isinstance(event, LinkEstablished):
            info = self.engine.lcp_info
            if info is not None and info.auth_method is not None:
                self.auth_method = info.auth_method
                device._progress(RASCS.Authenticate)
        elif isinstance(event, AuthSucceeded):
            if event.role == ROLE_PEER:
                self.auth_message = event.message
                device._progress(RASCS.Authenticated)
        elif isinstance(event, AuthFailed):
            if event.role == ROLE_PEER:
                self.auth_message = event.message
        elif isinstance(event, PhaseChanged):
            if event.phase is Phase.NETWORK:
                device._progress(RASCS.AuthProject)
        elif isinstance(event, IpUp):
            if not self.up.done():
                self.up.set_result(event)
        elif isinstance(event, Ipv6Up):
            self.ipv6_up = True
            if not self.engine.config.ipv4 and not self.up.done():
                self.up.set_result(IpUp(IPv4Address(0), None))
        elif isinstance(event, LinkDown):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timer_at = None
            if not self.up.done():
                code = event.code
                if code == ErrorCode.ERROR_REMOTE_DISCONNECTION and not self.port.closed:
                    # The engine says 629 for a Terminate-Request once LCP is open; before
                    # Projected that is still negotiation, which Windows reports as 734.
                    code = ErrorCode.ERROR_PPP_LCP_TERMINATED
                self.up.set_exception(RasError(code, event.reason))
                self.up.exception()  # retrieved: nobody may be awaiting it (hang-up during dial)
            if not self.done.done():
                self.done.set_result(event)
            device._link_down(event)

    async def close(self, wait: float) -> None:
        """LCP Terminate-Request, wait (bounded) for the peer's ack; the port stays open."""
        if not self.engine.is_finished:
            self.engine.close(self.loop.time())
            self._service()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.done), wait)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        self.port.detach()


class PppDevice(Device):
    """A PPP link on some byte stream; subclasses implement ``open_port`` (and ``connect_device``)."""

    device_type = "ppp"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.port: PortProtocol | None = None
        self.link: PppLink | None = None
        self.tun: Any = None  # openras.ras.link.tun.TunInterface
        self.tun_reason: str | None = "not projected yet"
        self.route_note: str | None = None  # why IpPrioritizeRemote was not honoured
        self.ip: IpUp | None = None
        self._dialing = True
        self._connected = False
        self._closing = False
        self._lost_reported = False
        self._closed = asyncio.Event()

    # -- what subclasses provide --------------------------------------------------------

    async def open_port(self) -> PortProtocol:
        """Open the port (OpenPort is already reported); return its protocol."""
        raise NotImplementedError

    async def connect_device(self, port: PortProtocol) -> None:
        """After PortOpened: dial (modems report ConnectDevice here). Default: nothing to dial."""

    async def release_port(self) -> None:
        """After PPP ended: drop the line (modems hang up). Default: nothing."""

    # -- the dial ---------------------------------------------------------------------------

    def _progress(self, state: RASCS) -> None:
        if self._dialing and not self._closing:
            self.ctx.progress(state)

    async def dial(self) -> None:
        ctx = self.ctx
        config = ppp_config(ctx)
        self._progress(RASCS.OpenPort)
        self.port = await self.open_port()
        self._progress(RASCS.PortOpened)
        await self.connect_device(self.port)
        self._progress(RASCS.DeviceConnected)
        self._progress(RASCS.AllDevicesConnected)
        self.link = PppLink(self.port, config, self)
        self.link.start()
        self.ip = await self.link.up  # raises RasError(code) from LinkDown
        await self._make_interface()
        if self.link.done.done():  # lost while the interface was being made
            down = self.link.done.result()
            raise RasError(down.code, down.reason)
        self._progress(RASCS.Projected)
        self._dialing = False
        self._connected = True

    async def _make_interface(self) -> None:
        from ..link.tun import TunConfig, TunInterface, interface_name, tun_unavailable_reason

        assert self.link is not None and self.ip is not None
        if str(self.ctx.options.get("tun", "true")).lower() in ("0", "false", "no"):
            self.tun_reason = "TUN interfaces are switched off ([devices] tun = false)"
            return
        if not self.engine_ipcp_up():
            self.tun_reason = "IPv4 was not negotiated"
            return
        reason = tun_unavailable_reason()
        if reason is not None:
            self.tun_reason = reason
            self.ctx.log.info("no interface for %s: %s", self.ctx.entry.name, reason)
            return
        lcp = self.link.engine.lcp_info
        wants_default = self.ctx.entry.get_int("IpPrioritizeRemote", 0) == 1
        # Routing the whole machine through a link is the administrator's call, not any user's.
        default_ok = self.ctx.owner_uid in (0, os.geteuid()) or \
            self.ctx.owner_uid in self.ctx.options.get("default_route_uids", [])
        if wants_default and not default_ok:
            self.route_note = f"IpPrioritizeRemote=1 refused for uid {self.ctx.owner_uid}: split tunnel"
            self.ctx.log.info("handle %d: %s", self.ctx.handle, self.route_note)
        config = TunConfig(
            name=interface_name(self.ctx.entry.name),
            local=self.ip.local,
            peer=self.ip.remote,
            mtu=min(lcp.peer_mru if lcp else 1500, 1500),
            default_route=wants_default and default_ok,
            metric=max(self.ctx.entry.get_int("IpInterfaceMetric", 0), 0),
            dns=self.dns_servers(),
            resolv_dir=self.ctx.state_dir / "resolv",
        )
        tun = TunInterface(config)
        try:
            await tun.open()
        except Exception as exc:  # the link still works without an interface; say why
            self.tun_reason = f"cannot make interface {config.name}: {exc}"
            self.ctx.log.warning("handle %d: %s", self.ctx.handle, self.tun_reason)
            return
        self.tun, self.tun_reason = tun, None
        link = self.link
        link.packet_sink = tun.write
        assert self.port is not None
        self.port.on_pause = tun.pause
        tun.start(link.send_packet, link.flush)

    def engine_ipcp_up(self) -> bool:
        return self.link is not None and self.link.engine.ipcp_info is not None

    def dns_servers(self) -> list[IPv4Address]:
        entry = self.ctx.entry
        if entry.get_int("IpNameAssign", 1) == 2:
            out = []
            for key in ("IpDnsAddress", "IpDns2Address"):
                value = entry.get(key)
                if value and value != "0.0.0.0":
                    out.append(IPv4Address(value))
            return out
        if self.ip is None:
            return []
        return [a for a in (self.ip.dns1, self.ip.dns2) if a is not None and int(a) != 0]

    def _link_down(self, event: LinkDown) -> None:
        """The engine finished: before Connected the dial raises; after it, report the loss once."""
        if self.tun is not None:
            self.tun.close()
        if self._connected and not self._closing and not self._lost_reported:
            self._lost_reported = True
            self._connected = False
            self.ctx.link_lost(event.code, event.reason)

    async def hangup(self) -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._dialing = False
        try:
            timeout = float(self.ctx.options.get("hangup_timeout", 3.0))
            if self.link is not None:
                await self.link.close(timeout)
            if self.tun is not None:
                self.tun.close()
            if self.port is not None:
                if not self.port.closed:
                    try:
                        await asyncio.wait_for(self.release_port(), timeout + 5)
                    except Exception as exc:  # hang-up goes on: closing the port drops DTR anyway
                        self.ctx.log.info("handle %d: releasing the port: %r", self.ctx.handle, exc)
                self.port.close()
        finally:
            self._closed.set()

    # -- queries ----------------------------------------------------------------------------

    def projection(self, kind: int) -> Projection:
        link = self.link
        engine = link.engine if link is not None else None
        if kind == RASP_PppIp:
            info = engine.ipcp_info if engine is not None else None
            if engine is None or not engine.config.ipv4:
                return super().projection(kind)
            if info is None:
                return PppIpProjection(dwError=ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED)
            dns: list[IPv4Address | None] = [*self.dns_servers(), None, None]
            # VJ header compression is never negotiated (slirp's offer is rejected): no options.
            return PppIpProjection(
                szIpAddress=str(info.local), szServerIpAddress=str(info.remote) if info.remote else "",
                szDnsAddress=str(dns[0]) if dns[0] else "", szDns2Address=str(dns[1]) if dns[1] else "")
        if kind == RASP_PppIpv6:
            if engine is None or not engine.config.ipv6:
                return super().projection(kind)
            info6 = engine.ipv6cp_info
            if info6 is None:
                return PppIpv6Projection(dwError=ErrorCode.ERROR_PPP_CP_REJECTED)
            return PppIpv6Projection(
                bLocalInterfaceIdentifier=info6.local_ifid.hex(),
                bPeerInterfaceIdentifier=info6.remote_ifid.hex() if info6.remote_ifid else "")
        if kind == RASP_PppLcp:
            lcp = engine.lcp_info if engine is not None else None
            if lcp is None:
                raise RasError(ErrorCode.ERROR_PROJECTION_NOT_COMPLETE, "LCP is not open")
            return PppLcpProjection(
                dwAuthenticationProtocol=lcp.auth_protocol or 0,
                dwAuthenticationData=lcp.auth_algorithm or 0,
                dwServerAuthenticationProtocol=lcp.peer_auth_protocol or 0,
                dwServerAuthenticationData=lcp.peer_auth_algorithm or 0,
                szReplyMessage=link.auth_message if link is not None else "",
                dwOptions=(RASLCPO_PFC if lcp.send_pfc else 0) | (RASLCPO_ACFC if lcp.send_acfc else 0),
                dwServerOptions=(RASLCPO_PFC if lcp.recv_pfc else 0) | (RASLCPO_ACFC if lcp.recv_acfc else 0),
                dwMru=lcp.mru, dwServerMru=lcp.peer_mru, dwAccm=lcp.accm, dwServerAccm=lcp.peer_accm,
                dwMagicNumber=lcp.magic, dwServerMagicNumber=lcp.peer_magic)
        return super().projection(kind)

    def status(self) -> LinkStatus:
        extra: dict[str, Scalar] = {}
        local = remote = None
        if self.ip is not None and self.engine_ipcp_up():
            local = str(self.ip.local)
            remote = str(self.ip.remote) if self.ip.remote else None
        interface, reason, routes, default, resolv = None, self.tun_reason, (), False, None
        tun = self.tun
        if tun is not None and tun.fd is not None:
            interface, reason, routes, default = tun.name, None, tuple(tun.routes), tun.default_route
            resolv = str(tun.resolv_file) if tun.resolv_file else None
            extra.update(tun_rx_packets=tun.rx_packets, tun_tx_packets=tun.tx_packets, tun_dropped=tun.dropped)
        elif tun is not None:
            reason = "the link is down"
        if self.link is not None:
            engine = self.link.engine
            extra.update(ppp_phase=engine.phase.value, ppp_tx_frames=engine.stats.tx_frames,
                         ppp_rx_packets=engine.stats.rx_packets, ipv6=self.link.ipv6_up)
        return LinkStatus(interface=interface, interface_reason=reason, local_address=local,
                          remote_address=remote, dns=tuple(str(a) for a in self.dns_servers()),
                          resolv_conf=resolv, routes=routes, default_route=default,
                          route_note=self.route_note, extra=extra)
