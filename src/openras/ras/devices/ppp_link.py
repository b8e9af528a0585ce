"""The asyncio adapter between a byte port and the sans-IO ``PppEngine``: it moves bytes and
time between them, turns the engine's events into RASCS progress and its ``Failure`` reasons
into RAS error codes (``FAILURE_CODES``, the one table), and carries IP packets to and from
the TUN pump (``packet_sink`` / ``send_packet``).

Failures: 691 authentication (or MS-CHAP's own "E=" number), 718 negotiation time-out, 732
not converging, 733 rejected, 734 LCP terminated during negotiation, 738 no address; after
Connected: 629 peer Terminate-Request or transport closed, 829 echo keepalive dead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from ...codes import RASCS, ErrorCode, RasError
from ...ppp import (
    ROLE_PEER,
    AuthFailed,
    AuthMethod,
    AuthSucceeded,
    Failure,
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
from ...timeouts import within
from .ppp_port import PortProtocol

# The engine's reasons for finishing a link, in Windows' words (what RasDial reports).
FAILURE_CODES: dict[Failure, ErrorCode] = {
    Failure.USER_CLOSED: ErrorCode.ERROR_USER_DISCONNECTION,
    Failure.TRANSPORT_LOST_EARLY: ErrorCode.ERROR_PORT_DISCONNECTED,
    Failure.TRANSPORT_LOST: ErrorCode.ERROR_REMOTE_DISCONNECTION,
    Failure.PEER_TERMINATED: ErrorCode.ERROR_REMOTE_DISCONNECTION,
    Failure.PEER_TERMINATED_LCP: ErrorCode.ERROR_PPP_LCP_TERMINATED,
    Failure.LCP_TIMEOUT: ErrorCode.ERROR_PPP_TIMEOUT,
    Failure.LCP_REJECTED: ErrorCode.ERROR_PPP_CP_REJECTED,
    Failure.LCP_FINISHED: ErrorCode.ERROR_PPP_LCP_TERMINATED,
    Failure.NOT_CONVERGING: ErrorCode.ERROR_PPP_NOT_CONVERGING,
    Failure.PEER_REFUSED_AUTH: ErrorCode.ERROR_PPP_NOT_CONVERGING,
    Failure.LOOPBACK: ErrorCode.ERROR_PPP_LOOPBACK_DETECTED,
    Failure.ECHO_TIMEOUT: ErrorCode.ERROR_LINK_FAILURE,
    Failure.NCP_TIMEOUT: ErrorCode.ERROR_PPP_TIMEOUT,
    Failure.NCP_REJECTED: ErrorCode.ERROR_PPP_CP_REJECTED,
    Failure.NCP_TERMINATED: ErrorCode.ERROR_PPP_NCP_TERMINATED,
    Failure.NO_ADDRESS: ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED,
    Failure.NO_NETWORK_PROTOCOLS: ErrorCode.ERROR_PPP_NO_PROTOCOLS_CONFIGURED,
    Failure.AUTH_PROTOCOL_REJECTED: ErrorCode.ERROR_PPP_CP_REJECTED,
    Failure.AUTH_REJECTED: ErrorCode.ERROR_AUTHENTICATION_FAILURE,
    Failure.AUTH_TIMEOUT: ErrorCode.ERROR_PPP_TIMEOUT,
}


def failure_code(failure: Failure, mschap_error: int | None = None) -> int:
    """The RAS error code for an engine ``Failure``. An MS-CHAP Failure packet's "E=" number
    is already one (RFC 2759: 646 logon hours, 647 disabled, 648 expired, 649 no dial-in,
    691 bad password, 709 changing the password failed), so it is passed on as it is."""
    if failure is Failure.AUTH_REJECTED and mschap_error is not None and 600 <= mschap_error < 1000:
        return mschap_error
    return FAILURE_CODES[failure]


class PppLink:
    """Drives one ``PppEngine`` over a ``PortProtocol``: bytes, timers, events, packets."""

    def __init__(
        self,
        port: PortProtocol,
        config: PppConfig,
        progress: Callable[[RASCS], None] = lambda state: None,
        on_down: Callable[[LinkDown], None] = lambda event: None,
    ) -> None:
        """``progress(state)`` for Authenticate, Authenticated and AuthProject; ``on_down``
        once with the engine's LinkDown (after ``up`` failed or ``done`` is set)."""
        self.port = port
        self.engine = PppEngine(config)
        self.progress = progress
        self.on_down = on_down
        self.loop = asyncio.get_running_loop()
        self.up: asyncio.Future[IpUp] = self.loop.create_future()
        self.done: asyncio.Future[LinkDown] = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.auth_message = ""
        self.auth_method: AuthMethod | None = None
        self.ipv6_up = False
        self._packet_sink: Callable[[list[bytes]], Any] | None = None

    @property
    def packet_sink(self) -> Callable[[list[bytes]], Any] | None:
        """Where received IP packets go, a batch (list) at a time: ``TunInterface.write_packets``
        once the interface exists."""
        return self._packet_sink

    @packet_sink.setter
    def packet_sink(self, sink: Callable[[list[bytes]], Any] | None) -> None:
        self._packet_sink = sink
        # The engine then collects packets in a list, not as one event object each.
        self.engine.packets = [] if sink is not None else None

    def start(self) -> None:
        self.port.attach(self._received, self._lost)
        self.engine.start(self.loop.time())
        self._service()

    # -- bytes and time in ----------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        engine = self.engine
        if engine.receive_data(data, self.loop.time()) or engine.packets is None:
            self._service()
            return
        # IP packets only (the data path, most reads): no event, output or timer changed.
        packets = engine.packets
        if packets:
            engine.packets = []
            sink = self._packet_sink
            assert sink is not None  # packets is a list only while there is a sink
            sink(packets)

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
        packets = engine.packets
        if packets:
            sink = self._packet_sink
            assert sink is not None  # packets is a list only while there is a sink
            engine.packets = []  # the data path: the batch straight to the TUN
            sink(packets)
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

    def send_packets(self, packets: list[bytes]) -> int:
        """A batch of IP packets towards the peer, written at once; returns how many were
        refused (the TUN pump's batch sender)."""
        refused = self.engine.send_packets(packets)
        data = self.engine.data_to_send()
        if data:
            self.port.write(data)
        return refused

    def _event(self, event: PppEvent) -> None:
        if isinstance(event, PacketReceived):
            if self._packet_sink is not None:
                self._packet_sink([event.data])
        elif isinstance(event, LinkEstablished):
            info = self.engine.lcp_info
            if info is not None and info.auth_method is not None:
                self.auth_method = info.auth_method
                self.progress(RASCS.Authenticate)
        elif isinstance(event, AuthSucceeded):
            if event.role == ROLE_PEER:
                self.auth_message = event.message
                self.progress(RASCS.Authenticated)
        elif isinstance(event, AuthFailed):
            if event.role == ROLE_PEER:
                self.auth_message = event.message
        elif isinstance(event, PhaseChanged):
            if event.phase is Phase.NETWORK:
                self.progress(RASCS.AuthProject)
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
                code = failure_code(event.failure, event.mschap_error)
                if code == ErrorCode.ERROR_REMOTE_DISCONNECTION and not self.port.closed:
                    # 629 (a Terminate-Request once LCP is open, PEER_TERMINATED): before
                    # Projected that is still negotiation, which Windows reports as 734.
                    code = ErrorCode.ERROR_PPP_LCP_TERMINATED
                self.up.set_exception(RasError(code, event.reason))
                self.up.exception()  # retrieved: nobody may be awaiting it (hang-up during dial)
            if not self.done.done():
                self.done.set_result(event)
            self.on_down(event)

    async def close(self, wait: float) -> None:
        """LCP Terminate-Request, wait (bounded) for the peer's ack; the port stays open."""
        if not self.engine.is_finished:
            self.engine.close(self.loop.time())
            self._service()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await within(asyncio.shield(self.done), wait)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        self.port.detach()
