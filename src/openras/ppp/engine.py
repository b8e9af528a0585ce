"""``PppEngine``: one end of a PPP link, sans-IO.

Bytes and ``now`` (float seconds, any monotonic origin) go in; events, bytes to send and
the next timer deadline come out. A device adapter does only this::

    engine.start(now)
    loop:
        transport.write(engine.data_to_send())
        wait for bytes or until engine.get_timer()
        engine.receive_data(data, now) / engine.handle_timer(now)
        for event in engine.events(): ...   # LinkDown is last: flush, then hang up

The engine never reads a clock, never sleeps and never touches a file descriptor.

The data path: ``send_packets(batch)`` frames a batch of IP packets at once, and with
``engine.packets = []`` received IP packets are appended to that list (for the adapter to
drain) instead of becoming one ``PacketReceived`` event each.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import constants as c
from . import hdlc_batch
from .auth import Authentication, make_authenticator, make_peer
from .config import PppConfig
from .events import (
    ROLE_PEER,
    AuthFailed,
    AuthStarted,
    AuthSucceeded,
    Failure,
    IpDown,
    IpUp,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkEstablished,
    PacketReceived,
    Phase,
    PhaseChanged,
    PppEvent,
)
from .fcs import crc16_sdlc
from .fsm import (
    FINISH_REJECTED,
    FINISH_TIMEOUT,
    Act,
    ControlProtocol,
    CpTimers,
    State,
)
from .hdlc import (
    FCS_ESCAPED_ACCM0,
    Deframer,
    DeframerStats,
    Frame,
    encode_frame,
    encode_protocol,
    escape,
)
from .hdlc_batch import batch_version, encode_batch
from .ipcp import ANY, Ipcp, IpcpInfo
from .ipv6cp import Ipv6cp, Ipv6cpInfo
from .lcp import Lcp, LcpInfo

_NEGOTIATING = (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT)
_FLAG = b"\x7e"


@dataclass
class LinkStats:
    tx_frames: int = 0
    tx_octets: int = 0
    rx_packets: int = 0
    rx_whole_read: int = 0  # of rx_packets, those the whole-read decoder delivered
    rx_discarded: int = 0
    protocol_rejects_sent: int = 0
    framing: DeframerStats = field(default_factory=DeframerStats)


class PppEngine:
    """One end of a PPP link: LCP, authentication (either role), IPCP and IPV6CP."""

    def __init__(self, config: PppConfig | None = None) -> None:
        self.config = config = config or PppConfig()
        timers = CpTimers(
            restart=config.restart_timer,
            max_configure=config.max_configure,
            max_terminate=config.max_terminate,
            max_failure=config.max_failure,
        )
        self.lcp = Lcp(
            owner=self,
            timers=timers,
            passive=config.passive,
            config=config,
            on_protocol_reject=self._protocol_rejected,
        )
        self.ipcp: Ipcp | None = (
            Ipcp(owner=self, timers=timers, config=config) if config.ipv4 else None
        )
        self.ipv6cp: Ipv6cp | None = (
            Ipv6cp(owner=self, timers=timers, config=config) if config.ipv6 else None
        )
        self._deframer = Deframer(max_frame=max(config.mru, c.DEFAULT_MRU) + 8)
        self.stats = LinkStats(framing=self._deframer.stats)
        self._out: list[bytes] = []  # frames to send, joined once by data_to_send()
        # The data path, rebuilt (``_refresh``) after any layer change: protocol → (frame
        # header, its FCS so far) for each network protocol that can carry packets now (LCP
        # and its NCP Opened). None: to be rebuilt.
        self._data_headers: dict[int, tuple[bytes, int]] | None = {}
        self._data_protocols: tuple[int, ...] = ()
        # When a list, received IP packets are appended to it instead of PacketReceived
        # events (the adapter's data path: no event object per packet).
        self.packets: list[bytes] | None = None
        self._events: deque[PppEvent] = deque()
        self.phase = Phase.DEAD
        self._started = False
        self._finished = False
        self._pending: LinkDown | None = None  # the first reason to finish wins
        self._auth: list[Authentication] = []
        self._tx_accm = c.DEFAULT_ACCM
        self._tx_acfc = False
        self._tx_pfc = False
        self._ipcp_info: IpcpInfo | None = None
        self._ipv6cp_info: Ipv6cpInfo | None = None
        self._lcp_info: LcpInfo | None = None
        self._peer_mru_now = c.DEFAULT_MRU

    def __repr__(self) -> str:
        return f"<PppEngine phase={self.phase.value} lcp={self.lcp.state.name}>"

    # ---- the adapter's side ----------------------------------------------------------------

    def start(self, now: float) -> None:
        """The transport is connected: open LCP (and send the first Configure-Request)."""
        if self._started:
            return
        self._started = True
        self._set_phase(Phase.ESTABLISH)
        self.lcp.open(now)
        self.lcp.up(now)

    def receive_data(self, data: bytes, now: float) -> bool:
        """Octets from the wire. Returns True when they carried more than IP packets for the
        ``packets`` list (a control frame, an event): only then can events, output or the
        timer have changed, which the caller must then look at."""
        if self._finished or not self._started:
            return False
        control = False
        deframer = self._deframer
        stats = self.stats
        packets = self.packets
        if packets is not None and not deframer.rx_accm and hdlc_batch.c_framing():
            headers = self._data_headers
            if headers is None:
                headers = self._refresh()
            if headers:
                # The data path: a read's leading data frames decoded at once, in C;
                # whatever follows the first other frame comes back raw, for the loop below.
                held = len(packets)
                raws = hdlc_batch.decode_read(deframer, data, self._data_protocols, packets)
                stats.rx_packets += len(packets) - held
                stats.rx_whole_read += len(packets) - held
            else:
                raws = deframer.raw_frames(data)
        else:
            raws = deframer.raw_frames(data)
        count = len(raws)
        index = 0
        while index < count:
            headers = self._data_headers
            if headers is None:
                headers = self._refresh()
            packets = self.packets
            if packets is not None and headers:
                # The data path: IP packets while their NCP is Opened, decoded in one loop
                # and appended to the list; it stops after any other frame.
                held = len(packets)
                index, frame = deframer.decode_packets(raws, index, headers, packets)
                stats.rx_packets += len(packets) - held
            else:
                frame = deframer.decode(raws[index])  # reads rx_accm now: LCP may change it
                index += 1
            if frame is None:
                continue
            protocol, info = frame
            control = True
            if protocol in headers:  # what _dispatch would deliver, without its checks
                stats.rx_packets += 1
                self._events.append(PacketReceived(protocol, info))
                continue
            self._dispatch(Frame(protocol, info), now)
            if self._finished:
                break
        return control

    def get_timer(self) -> float | None:
        """When ``handle_timer`` wants to be called next; None: no timer running."""
        if self._finished:
            return None
        times = [self.lcp.next_deadline()]
        times += [cp.deadline for cp in self._ncps()]
        times += [auth.deadline for auth in self._auth]
        present = [t for t in times if t is not None]
        return min(present) if present else None

    def handle_timer(self, now: float) -> None:
        if self._finished:
            return
        self.lcp.handle_timer(now)
        for cp in self._ncps():
            if self._finished:
                return
            cp.handle_timer(now)
        for auth in list(self._auth):
            if self._finished:
                return
            auth.handle_timer(now)

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def next_event(self) -> PppEvent | None:
        return self._events.popleft() if self._events else None

    def events(self) -> list[PppEvent]:
        drained = list(self._events)
        self._events.clear()
        return drained

    def send_packet(self, packet: bytes, protocol: int | None = None) -> bool:
        """Queue an IPv4 (0x0021) or IPv6 (0x0057) packet; False if that network is not up.

        Without ``protocol`` the IP version nibble decides.
        """
        if protocol is None:
            return self.send_packets((packet,)) == 0
        if self._finished or not packet:
            return False
        headers = self._data_headers
        if headers is None:
            headers = self._refresh()
        if protocol not in headers or len(packet) > self._peer_mru_now:
            return False
        self._send_frame(protocol, packet)
        return True

    def send_packets(self, packets: Iterable[bytes]) -> int:
        """Queue IP packets, each of the network protocol its version nibble says; return how
        many were refused (that network not up, empty, too big for the peer's MRU).

        The data path: one call per batch of packets read from the TUN, each framed inline.
        """
        if self._finished:
            return sum(1 for _ in packets)
        headers = self._data_headers
        if headers is None:
            headers = self._refresh()
        header4 = headers.get(c.PROTO_IPV4)  # None unless LCP and IPCP are Opened
        header6 = headers.get(c.PROTO_IPV6)
        mru, accm = self._peer_mru_now, self._tx_accm
        if (
            isinstance(packets, list)
            and packets
            and (hdlc_batch.c_framing() or (not accm and len(packets) > 1))
        ):
            # A batch of one network protocol, none refused: framed at once (in C, under any
            # ACCM; without it, in Python under ACCM 0 when that beats the loop below).
            version = batch_version(packets)
            header = header4 if version == 4 else header6 if version == 6 else None
            longest = len(packets[0]) if len(packets) == 1 else max(map(len, packets))
            if header is not None and longest <= mru:
                data = encode_batch(packets, *header, accm)
                self._out.append(data)
                self.stats.tx_frames += len(packets)
                self.stats.tx_octets += len(data)
                return 0
        out = self._out
        refused = frames = octets = 0
        escaped_fcs = FCS_ESCAPED_ACCM0
        for packet in packets:
            version = packet[0] >> 4 if packet else 0
            header = header4 if version == 4 else header6 if version == 6 else None
            if header is None or len(packet) > mru:
                refused += 1
                continue
            prefix, prefix_fcs = header
            fcs = crc16_sdlc(packet, prefix_fcs)  # the FCS over prefix + packet, no copy
            if accm:
                body = escape(prefix + packet + fcs.to_bytes(2, "little"), accm)
                out += (_FLAG, body, _FLAG)
                octets += len(body)
            else:
                # Only 0x7D and 0x7E to escape: C-speed one-octet replaces (0x7D first, the
                # other adds some), none in the prefix; the pieces are joined once per batch.
                if b"\x7d" in packet:
                    packet = packet.replace(b"\x7d", b"\x7d\x5d")
                if b"\x7e" in packet:
                    packet = packet.replace(b"\x7e", b"\x7d\x5e")
                tail = escaped_fcs.get(fcs) or fcs.to_bytes(2, "little")
                out += (_FLAG, prefix, packet, tail, _FLAG)
                octets += len(prefix) + len(packet) + len(tail)
            frames += 1
        stats = self.stats
        stats.tx_frames += frames
        stats.tx_octets += octets + 2 * frames
        return refused

    def _refresh(self) -> dict[int, tuple[bytes, int]]:
        """Rebuild the data path's table after a layer change (see ``_data_headers``)."""
        headers: dict[int, tuple[bytes, int]] = {}
        if not self._finished and self.lcp.is_opened:
            prefix = b"" if self._tx_acfc else b"\xff\x03"
            for cp, protocol in ((self.ipcp, c.PROTO_IPV4), (self.ipv6cp, c.PROTO_IPV6)):
                if cp is not None and cp.is_opened:
                    header = prefix + encode_protocol(protocol, self._tx_pfc)
                    headers[protocol] = header, crc16_sdlc(header)
        self._peer_mru_now = self._peer_mru()
        self._data_headers = headers
        self._data_protocols = tuple(headers)  # the same, as the C decoder takes them
        return headers

    def close(self, now: float) -> None:
        """Hang up: LCP Terminate-Request, then LinkDown(USER_CLOSED) once acked or timed out."""
        if self._finished:
            return
        if not self._started:
            self._finish(LinkDown(Failure.USER_CLOSED, "closed by the user"))
            return
        self._close_link(LinkDown(Failure.USER_CLOSED, "closed by the user"), now)

    def connection_lost(self, now: float) -> None:
        """The transport went away (EOF, carrier lost)."""
        if self._finished:
            return
        if self._pending is None:
            failure = Failure.TRANSPORT_LOST if self.lcp.is_opened else Failure.TRANSPORT_LOST_EARLY
            self._pending = LinkDown(failure, "the transport was disconnected")
        self.lcp.down(now)
        self._finish(self._pending)

    # ---- state for the RAS layer ------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.phase is Phase.RUNNING

    @property
    def is_finished(self) -> bool:
        return self._finished

    @property
    def lcp_info(self) -> LcpInfo | None:
        """Negotiated LCP options once LCP has been Opened."""
        return self._lcp_info

    @property
    def ipcp_info(self) -> IpcpInfo | None:
        return self._ipcp_info

    @property
    def ipv6cp_info(self) -> Ipv6cpInfo | None:
        return self._ipv6cp_info

    # ---- receiving ----------------------------------------------------------------------------

    def _dispatch(self, frame: Frame, now: float) -> None:
        protocol, info = frame.protocol, frame.info
        self.stats.rx_packets += 1
        if protocol == c.PROTO_LCP:
            self.lcp.receive(info, now)
            return
        if not self.lcp.is_opened:
            self.stats.rx_discarded += 1  # only LCP before LCP is up (RFC 1661 §3.4)
            return
        if protocol in (c.PROTO_PAP, c.PROTO_CHAP):
            self._dispatch_auth(protocol, info, now)
            return
        if self.phase not in (Phase.NETWORK, Phase.RUNNING):
            self.stats.rx_discarded += 1  # network packets wait for authentication (§3.5)
            return
        if protocol == c.PROTO_IPCP and self.ipcp is not None:
            self.ipcp.receive(info, now)
        elif protocol == c.PROTO_IPV6CP and self.ipv6cp is not None:
            self.ipv6cp.receive(info, now)
        elif protocol == c.PROTO_IPV4 and self.ipcp is not None:
            self._deliver(self.ipcp, protocol, info)
        elif protocol == c.PROTO_IPV6 and self.ipv6cp is not None:
            self._deliver(self.ipv6cp, protocol, info)
        else:
            # CCP (slirp sends it), IPX, … — and IPv6 when it is switched off.
            self.stats.protocol_rejects_sent += 1
            self.lcp.send_protocol_reject(protocol, info, self._peer_mru())

    def _deliver(self, ncp: ControlProtocol, protocol: int, info: bytes) -> None:
        if ncp.is_opened:
            self._events.append(PacketReceived(protocol, info))
        else:
            self.stats.rx_discarded += 1

    def _dispatch_auth(self, protocol: int, info: bytes, now: float) -> None:
        code = info[0] if info else 0
        # Which of our two roles a packet is for follows from its code.
        to_authenticator = code == 1 if protocol == c.PROTO_PAP else code == 2
        for auth in self._auth:
            if auth.method.protocol == protocol and (auth.role != ROLE_PEER) == to_authenticator:
                auth.receive(info, now)
                return
        self.stats.rx_discarded += 1

    def _peer_mru(self) -> int:
        return self._lcp_info.peer_mru if self._lcp_info else c.DEFAULT_MRU

    # ---- sending ------------------------------------------------------------------------------

    def send_cp(self, protocol: int, payload: bytes) -> None:
        self._send_frame(protocol, payload)

    def send_auth(self, protocol: int, payload: bytes) -> None:
        self._send_frame(protocol, payload)

    def _send_frame(self, protocol: int, info: bytes) -> None:
        if protocol == c.PROTO_LCP:
            # LCP always goes out with every control character escaped and full headers,
            # so a peer that has not switched its ACCM yet still reads it (RFC 1662 §7.1).
            frame = encode_frame(protocol, info)
        else:
            frame = encode_frame(protocol, info, self._tx_accm, self._tx_acfc, self._tx_pfc)
        self.stats.tx_frames += 1
        self.stats.tx_octets += len(frame)
        self._out.append(frame)

    # ---- callbacks from the control protocols -------------------------------------------------

    def layer_event(self, cp: ControlProtocol, action: Act, now: float) -> None:
        self._data_headers = None  # a layer goes up or down: the data path is rebuilt
        if self._finished:
            return
        if cp is self.lcp:
            self._lcp_layer(action, now)
        else:
            self._ncp_layer(cp, action, now)

    def _lcp_layer(self, action: Act, now: float) -> None:
        if action is Act.TLU:
            info = self._lcp_info = self.lcp.info()
            self._tx_accm, self._tx_acfc, self._tx_pfc = (
                info.peer_accm,
                info.send_acfc,
                info.send_pfc,
            )
            self._deframer.rx_accm = info.accm
            self._events.append(LinkEstablished())
            self.lcp.start_keepalive(now)
            self._start_auth(info, now)
        elif action is Act.TLD:
            self.lcp.stop_keepalive()
            self._auth = []
            for cp in self._ncps():
                cp.down(now)
                cp.close(now)
            self._tx_accm, self._tx_acfc, self._tx_pfc = c.DEFAULT_ACCM, False, False
            self._deframer.rx_accm = c.DEFAULT_ACCM
            closing = self.lcp.state in (State.CLOSING, State.STOPPING)
            self._set_phase(Phase.TERMINATE if closing else Phase.ESTABLISH)
        elif action is Act.TLF:
            if self._pending is not None:
                self._finish(self._pending)
            elif self.lcp.finish_reason == FINISH_TIMEOUT:
                self._finish(LinkDown(Failure.LCP_TIMEOUT, "LCP: no response from the peer"))
            elif self.lcp.finish_reason == FINISH_REJECTED:
                self._finish(LinkDown(Failure.LCP_REJECTED, "LCP: the peer rejected LCP"))
            else:
                self._finish(LinkDown(Failure.LCP_FINISHED, "LCP finished"))

    def _ncp_layer(self, cp: ControlProtocol, action: Act, now: float) -> None:
        if action is Act.TLU:
            if cp is self.ipcp:
                info = self._ipcp_info = self.ipcp.info()
                if info.local == ANY:
                    self._close_link(LinkDown(Failure.NO_ADDRESS, "IPCP: no address assigned"), now)
                    return
                self._events.append(IpUp(info.local, info.remote, info.dns1, info.dns2))
                self._set_phase(Phase.RUNNING)
            elif cp is self.ipv6cp:
                info6 = self._ipv6cp_info = self.ipv6cp.info()
                self._events.append(Ipv6Up(info6.local_ifid, info6.remote_ifid))
                if self.ipcp is None or not self.config.ipv4_required:
                    self._set_phase(Phase.RUNNING)
        elif action is Act.TLD:
            self._events.append(IpDown() if cp is self.ipcp else Ipv6Down())
        elif action is Act.TLF:
            if not self.lcp.is_opened or self.phase not in (Phase.NETWORK, Phase.RUNNING):
                return  # finishing because the link itself is going down
            if self._ncp_still_possible():
                return
            if cp.finish_reason == FINISH_TIMEOUT:
                down = LinkDown(Failure.NCP_TIMEOUT, f"{cp.name}: no response from the peer")
            elif cp.finish_reason == FINISH_REJECTED:
                down = LinkDown(Failure.NCP_REJECTED, f"the peer rejected {cp.name}")
            else:
                down = LinkDown(Failure.NCP_TERMINATED, f"{cp.name} terminated")
            self._close_link(down, now)

    def _ncp_still_possible(self) -> bool:
        """Whether the link can still carry what the config requires."""
        alive = (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT, State.OPENED)
        if self.ipcp is not None and self.config.ipv4_required:
            return self.ipcp.state in alive
        return any(cp.state in alive for cp in self._ncps())

    def cp_failed(self, cp: ControlProtocol, failure: Failure, reason: str, now: float) -> None:
        if self._finished:
            return
        # A dead peer will not answer a Terminate-Request: send one anyway, finish now.
        self._close_link(LinkDown(failure, reason), now, wait=failure is not Failure.ECHO_TIMEOUT)

    def peer_terminated(self, cp: ControlProtocol, now: float) -> None:
        if self._finished:
            return
        if cp is self.lcp:
            # The Terminate-Ack is queued; the link is over. Was LCP Opened (now Stopping)
            # or still negotiating?
            if self._pending is not None:
                self._finish(self._pending)
            elif self.lcp.state is State.STOPPING:
                self._finish(LinkDown(Failure.PEER_TERMINATED, "the peer terminated the link"))
            else:
                self._finish(LinkDown(Failure.PEER_TERMINATED_LCP, "the peer terminated LCP"))
            return
        cp.close(now)  # do not renegotiate what the peer has just shut down
        if self.lcp.is_opened and not self._ncp_still_possible():
            down = LinkDown(Failure.NCP_TERMINATED, f"the peer terminated {cp.name}")
            self._close_link(down, now)

    def _protocol_rejected(self, protocol: int, now: float) -> None:
        for cp in self._ncps():
            if cp.protocol == protocol:
                cp.protocol_rejected(now)
                return
        if protocol in (c.PROTO_PAP, c.PROTO_CHAP) and self.phase is Phase.AUTHENTICATE:
            down = LinkDown(Failure.AUTH_PROTOCOL_REJECTED, "the peer rejected authentication")
            self._close_link(down, now)

    # ---- authentication ---------------------------------------------------------------------

    def _start_auth(self, info: LcpInfo, now: float) -> None:
        self._auth = []
        ours, theirs = info.auth_method, info.peer_auth_method
        if ours is not None:
            self._auth.append(make_peer(self, self.config, ours))
        if theirs is not None:
            self._auth.append(make_authenticator(self, self.config, theirs))
        if not self._auth:
            self._enter_network(now)
            return
        self._set_phase(Phase.AUTHENTICATE)
        for auth in self._auth:
            self._events.append(AuthStarted(auth.method.protocol, auth.method.algorithm, auth.role))
        for auth in list(self._auth):
            auth.start(now)

    def auth_finished(
        self,
        auth: Authentication,
        failure: Failure | None,
        message: str,
        now: float,
        mschap_error: int | None = None,
    ) -> None:
        if self._finished or auth not in self._auth:
            return
        method = auth.method
        if failure is not None:
            self._events.append(
                AuthFailed(
                    method.protocol, method.algorithm, auth.role, failure, message, mschap_error
                )
            )
            # A peer that stopped answering will not answer a Terminate-Request either.
            wait = failure is not Failure.AUTH_TIMEOUT
            down = LinkDown(failure, message or "authentication failed", mschap_error)
            self._close_link(down, now, wait=wait)
            return
        self._events.append(AuthSucceeded(method.protocol, method.algorithm, auth.role, message))
        if self.phase is Phase.AUTHENTICATE and all(a.succeeded for a in self._auth):
            self._enter_network(now)

    # ---- phases -------------------------------------------------------------------------------

    def _enter_network(self, now: float) -> None:
        ncps = self._ncps()
        if not ncps:
            down = LinkDown(Failure.NO_NETWORK_PROTOCOLS, "no network protocol configured")
            self._close_link(down, now)
            return
        self._set_phase(Phase.NETWORK)
        for cp in ncps:
            cp.open(now)
            cp.up(now)

    def _close_link(self, down: LinkDown, now: float, wait: bool = True) -> None:
        """Terminate LCP; ``down`` follows the Terminate-Ack (or Max-Terminate time-outs),
        or comes at once when ``wait`` is false. The first reason wins."""
        if self._finished:
            return
        if self._pending is None:
            self._pending = down
        if self.lcp.state not in (State.CLOSING, State.STOPPING):
            self.lcp.close(now)
        if self._finished:
            return
        if not wait or self.lcp.state not in (State.CLOSING, State.STOPPING):
            self._finish(self._pending)  # nothing (more) to wait for
        else:
            self._set_phase(Phase.TERMINATE)

    def _finish(self, down: LinkDown) -> None:
        if self._finished:
            return
        self._finished = True
        self._data_headers = None
        self._set_phase(Phase.DEAD)
        self._events.append(down)
        self.lcp.deadline = self.lcp.echo_deadline = None
        for cp in self._ncps():
            cp.deadline = None
        for auth in self._auth:
            auth.deadline = None

    def _set_phase(self, phase: Phase) -> None:
        self._data_headers = None
        if phase is not self.phase:
            self.phase = phase
            self._events.append(PhaseChanged(phase))

    def _ncps(self) -> list[ControlProtocol]:
        return [cp for cp in (self.ipcp, self.ipv6cp) if cp is not None]
