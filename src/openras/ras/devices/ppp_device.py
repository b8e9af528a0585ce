"""``PppDevice``: the RAS device of a PPP link, base of the ``serial``, ``modem`` and ``tcp``
devices (a subclass only opens its port and, for a modem, dials). It builds the engine's
config from the entry (ppp_config.py), runs the link (ppp_link.py), makes the TUN interface
and answers projection (ppp_projection.py) and status queries. The RASCS states of a dial:

    OpenPort → PortOpened → [ConnectDevice (AT dialing, modems only)] → DeviceConnected
    → AllDevicesConnected → [Authenticate → Authenticated: only when the peer asks us to
    authenticate] → AuthProject (IPCP/IPV6CP) → Projected → Connected (by the manager)

Failures carry the RAS code of the engine's reason (ppp_link.FAILURE_CODES).
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from typing import Any

from ...codes import RASCS, RasError
from ...codes.states import RASP_PppIp, RASP_PppIpv6, RASP_PppLcp
from ...ppp import IpUp, LinkDown
from ...timeouts import within
from ..records import LinkStatistics, LinkStatus, Projection, Scalar
from .base import Device, DialContext, default_route
from .ppp_config import ppp_config, static_dns
from .ppp_link import PppLink, failure_code
from .ppp_port import PortProtocol
from .ppp_projection import ip_projection, ipv6_projection, lcp_projection
from .ppp_statistics import link_statistics


class PppDevice(Device):
    """A PPP link on some byte stream; subclasses implement ``open_port`` (and
    ``connect_device``)."""

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
        self.bps = 0  # the line's speed, when the port has one (serial: BaudRate)

    # -- what subclasses provide --------------------------------------------------------

    async def open_port(self) -> PortProtocol:
        """Open the port (OpenPort is already reported); return its protocol."""
        raise NotImplementedError

    async def connect_device(self, port: PortProtocol) -> None:
        """After PortOpened: dial (modems report ConnectDevice here). Default: nothing to dial."""

    async def release_port(self) -> None:
        """After PPP ended: drop the line (modems hang up). Default: nothing."""

    # -- the dial ---------------------------------------------------------------------------

    def progress(self, state: RASCS) -> None:
        """Report ``state`` while dialing (not once hang-up has begun)."""
        if self._dialing and not self._closing:
            self.ctx.progress(state)

    async def dial(self) -> None:
        ctx = self.ctx
        config = ppp_config(ctx)
        self.progress(RASCS.OpenPort)
        self.port = await self.open_port()
        self.progress(RASCS.PortOpened)
        await self.connect_device(self.port)
        self.progress(RASCS.DeviceConnected)
        self.progress(RASCS.AllDevicesConnected)
        self.link = PppLink(self.port, config, self.progress, self._link_down)
        self.link.start()
        self.ip = await self.link.up  # raises RasError(code) from LinkDown
        await self._make_interface()
        if self.link.done.done():  # lost while the interface was being made
            down = self.link.done.result()
            raise RasError(failure_code(down.failure, down.mschap_error), down.reason)
        self.progress(RASCS.Projected)
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
        default_ok, self.route_note = default_route(self.ctx)
        if self.route_note:
            self.ctx.log.info("handle %d: %s", self.ctx.handle, self.route_note)
        config = TunConfig(
            name=interface_name(self.ctx.entry.name),
            local=self.ip.local,
            peer=self.ip.remote,
            mtu=min(lcp.peer_mru if lcp else 1500, 1500),
            default_route=default_ok,
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
        link.packet_sink = tun.write_packets
        assert self.port is not None
        self.port.on_pause = tun.pause
        tun.start(link.send_packets)

    def engine_ipcp_up(self) -> bool:
        return self.link is not None and self.link.engine.ipcp_info is not None

    def dns_servers(self) -> list[IPv4Address]:
        static = static_dns(self.ctx.entry)
        if static is not None:
            return static
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
            self.ctx.link_lost(failure_code(event.failure, event.mschap_error), event.reason)

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
                        await within(self.release_port(), timeout + 5)
                    except Exception as exc:  # hang-up goes on: closing the port drops DTR anyway
                        self.ctx.log.info("handle %d: releasing the port: %r", self.ctx.handle, exc)
                self.port.close()
        finally:
            self._closed.set()

    # -- queries ----------------------------------------------------------------------------

    def projection(self, kind: int) -> Projection:
        link = self.link
        engine = link.engine if link is not None else None
        if kind == RASP_PppIp and engine is not None and engine.config.ipv4:
            return ip_projection(engine.ipcp_info, self.dns_servers())
        if kind == RASP_PppIpv6 and engine is not None and engine.config.ipv6:
            return ipv6_projection(engine.ipv6cp_info)
        if kind == RASP_PppLcp:
            lcp = engine.lcp_info if engine is not None else None
            return lcp_projection(lcp, link.auth_message if link is not None else "")
        return super().projection(kind)

    def statistics(self) -> LinkStatistics:
        if self.link is None:
            return LinkStatistics(dwBps=self.bps)
        return link_statistics(self.link.engine.stats, self.bps)

    def status(self) -> LinkStatus:
        extra: dict[str, Scalar] = {}
        local = remote = None
        if self.ip is not None and self.engine_ipcp_up():
            local = str(self.ip.local)
            remote = str(self.ip.remote) if self.ip.remote else None
        interface, reason, routes, default, resolv = None, self.tun_reason, (), False, None
        tun = self.tun
        if tun is not None and tun.fd is not None:
            interface, reason, routes, default = (
                tun.name,
                None,
                tuple(tun.routes),
                tun.default_route,
            )
            resolv = str(tun.resolv_file) if tun.resolv_file else None
            extra.update(
                tun_rx_packets=tun.rx_packets,
                tun_tx_packets=tun.tx_packets,
                tun_dropped=tun.dropped,
            )
        elif tun is not None:
            reason = "the link is down"
        if self.link is not None:
            engine = self.link.engine
            extra.update(
                ppp_phase=engine.phase.value,
                ppp_tx_frames=engine.stats.tx_frames,
                ppp_rx_packets=engine.stats.rx_packets,
                ipv6=self.link.ipv6_up,
            )
        return LinkStatus(
            interface=interface,
            interface_reason=reason,
            local_address=local,
            remote_address=remote,
            dns=tuple(str(a) for a in self.dns_servers()),
            resolv_conf=resolv,
            routes=routes,
            default_route=default,
            route_note=self.route_note,
            extra=extra,
        )
