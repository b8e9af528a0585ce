"""The IKEv2 device: Windows' own VPN (server by certificate, user by EAP-MSCHAPv2) on strongSwan.

The daemon owns one charon (``link/charon.py``, started on the first IKEv2 dial); each dial is
its own VICI connection, named after the handle, with the entry's trust anchors as that
connection's ``remote.cacerts`` (only that CA vouches for this entry) and the password as an EAP
shared secret loaded over VICI (never a file, a command line or a log line). All of it is
unloaded at hang-up.

States (charon 5.9 has no per-step IKE event: progress comes from its log, up/down from the
updown events; peers.md, "IKEv2"):

    OpenPort (name resolution, trust anchors, charon ready) → PortOpened (connection loaded)
    → ConnectDevice (IKE_SA_INIT sent) → DeviceConnected (IKE_SA_INIT response parsed)
    → AllDevicesConnected → Authenticate (server certificate / EAP request received)
    → Authenticated (EAP-MSCHAPv2 succeeded, server name checked) → Projected (CHILD_SA up,
    virtual IP, routes, DNS) → Connected (by the manager)

Failures (Windows' codes; winerror.h / raserror.h):
691 ERROR_AUTHENTICATION_FAILURE: the server rejected the user name or password;
13801 ERROR_IPSEC_IKE_AUTH_FAIL: the server certificate is not from the entry's CA (or the system
store) or does not name the host dialed — Windows reports both as 13801;
13868 ERROR_IPSEC_IKE_POLICY_MATCH: no proposal (or traffic selector) acceptable to both;
809 ERROR_VPN_TIMEOUT: no answer to IKE_SA_INIT within ``IkeTimeout`` (or charon's retransmissions);
13805 ERROR_IPSEC_IKE_TIMED_OUT: the server answered but the negotiation did not finish in time;
868 ERROR_DNSNAME_NOT_RESOLVABLE: the server name does not resolve.
After Connected: a DELETE from the server → 629 ERROR_REMOTE_DISCONNECTION at once; dead-peer
detection (``IkeDpdSeconds``) giving up, or charon dying → 829 ERROR_LINK_FAILURE.

Entry keys: ``PhoneNumber`` (server name or address), ``IkeCaCertificate`` (PEM file of the CA(s)
that may vouch for the server; default: the system store), ``IkeTimeout`` (s, default 30),
``IkeDpdSeconds`` (s, default 30; 0 = off), ``IpPrioritizeRemote`` (1 = default route through the
tunnel, for privileged dialers only), ``IpNameAssign``/``IpDnsAddress``/``IpDns2Address``.
``[devices.ikev2]`` options: ``ike_timeout``, ``dpd_seconds``, ``retransmit_timeout``,
``retransmit_base``, ``retransmit_tries``, ``hangup_timeout``, ``default_route_uids``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ...codes import RASCS, ErrorCode, RasError
from ...codes.states import RASP_PppIp
from ...timeouts import within
from ..link.charon import CharonSettings, charon_unavailable_reason
from ..link.resolv import remove_resolv, write_resolv
from ..link.sa_counters import child_sa_statistics
from ..link.vici_host import IkeEvent, IkeEventKind, ViciHost
from ..records import LinkStatistics, LinkStatus, PppIpProjection, Projection
from .base import Device, DialContext, default_route, entry_number, read_user_file
from .cached_counters import CachedCounters

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
INTERFACE = "ipsec0"  # kernel-libipsec's TUN device
ROUTING_TABLE = 220  # where charon routes the CHILD_SAs' remote networks

ERROR_IPSEC_IKE_AUTH_FAIL = ErrorCode.ERROR_IPSEC_IKE_AUTH_FAIL
ERROR_IPSEC_IKE_TIMED_OUT = ErrorCode.ERROR_IPSEC_IKE_TIMED_OUT
ERROR_IPSEC_IKE_ERROR = ErrorCode.ERROR_IPSEC_IKE_ERROR
ERROR_IPSEC_IKE_POLICY_MATCH = ErrorCode.ERROR_IPSEC_IKE_POLICY_MATCH

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_SERVER_AUTH = re.compile(r"^authentication of '(.*)' with (\S+) successful$")
_DNS = re.compile(r"^installing DNS server (\S+) ")
_VIP = re.compile(r"^installing new virtual IP (\S+)$")


class Step(Enum):
    """The dial's progress, in order; each reported once."""

    CONNECT_DEVICE = RASCS.ConnectDevice
    DEVICE_CONNECTED = RASCS.DeviceConnected
    AUTHENTICATE = RASCS.Authenticate
    AUTHENTICATED = RASCS.Authenticated


@dataclass(frozen=True)
class Failure:
    code: int
    detail: str


def classify(message: str, eap_started: bool, init_response: bool = False) -> Failure | None:
    """A charon log line that says why a negotiation failed, as a Windows code (None: not one)."""
    if "EAP-MS-CHAPv2 failed" in message or "received EAP_FAILURE" in message:
        return Failure(ErrorCode.ERROR_AUTHENTICATION_FAILURE, message)
    if "AUTHENTICATION_FAILED notify" in message:
        # The server refused us: during EAP that is the password; before it, our proposal of
        # identity.
        code = ErrorCode.ERROR_AUTHENTICATION_FAILURE if eap_started else ERROR_IPSEC_IKE_AUTH_FAIL
        return Failure(code, message)
    if (
        "constraint check failed" in message
        or "no trusted" in message
        or "no issuer certificate" in message
        or "constraint checking failed" in message
        or "certificate was revoked" in message
        or re.search(r"^authentication of '.*' with \S+ failed", message)
    ):
        return Failure(ERROR_IPSEC_IKE_AUTH_FAIL, f"server certificate not accepted: {message}")
    if (
        "NO_PROPOSAL_CHOSEN" in message
        or "no acceptable proposal" in message
        or "TS_UNACCEPTABLE" in message
        or "INTERNAL_ADDRESS_FAILURE" in message
    ):
        return Failure(ERROR_IPSEC_IKE_POLICY_MATCH, message)
    if message.startswith("giving up after") or "peer not responding" in message:
        return Failure(
            ErrorCode.ERROR_VPN_TIMEOUT if not init_response else ERROR_IPSEC_IKE_TIMED_OUT, message
        )
    return None


def split_pem(data: bytes) -> list[bytes]:
    return [m.group(0) + b"\n" for m in _PEM.finditer(data)]


def cert_names(der: bytes) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) a certificate is issued to: its SANs, else its subject CN."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return (
            [n.lower() for n in san.get_values_for_type(x509.DNSName)],
            [str(a) for a in san.get_values_for_type(x509.IPAddress)],
        )
    except x509.ExtensionNotFound:
        cns = [
            str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
        return cns, []


def names_host(dns_names: list[str], ips: list[str], host: str) -> bool:
    """Does a certificate with these names name ``host`` (as Windows checks: SAN, one-label
    wildcard)?"""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(a) == address for a in ips)
    host = host.lower().rstrip(".")
    for name in dns_names:
        name = name.rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


# -- the daemon's charon (one per daemon process) -----------------------------------------------

_host: ViciHost | None = None


def _settings(options: dict[str, Any]) -> CharonSettings:
    defaults = CharonSettings()
    return CharonSettings(
        retransmit_timeout=float(options.get("retransmit_timeout", defaults.retransmit_timeout)),
        retransmit_base=float(options.get("retransmit_base", defaults.retransmit_base)),
        retransmit_tries=int(options.get("retransmit_tries", defaults.retransmit_tries)),
    )


async def charon_host(ctx: DialContext) -> ViciHost:
    global _host
    reason = charon_unavailable_reason()
    if reason is not None:
        raise RasError(ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"IKEv2 unavailable: {reason}")
    if _host is None:
        _host = ViciHost(ctx.state_dir / "charon", _settings(ctx.options))
    try:
        await _host.ensure()
    except Exception as exc:
        raise RasError(ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"cannot start charon: {exc}") from None
    return _host


async def shutdown_charon() -> None:
    global _host
    if _host is not None:
        host, _host = _host, None
        await host.stop()


# -- the device ---------------------------------------------------------------------------------


class IkeV2Device(Device):
    device_type = "vpn"

    def __init__(self, ctx: DialContext) -> None:
        super().__init__(ctx)
        self.name = f"openras-{ctx.handle}-{secrets.token_hex(3)}"
        self.host: ViciHost | None = None
        self.server = ""  # the host dialed (PhoneNumber)
        self.server_address = ""
        self.server_id = ""  # the IDr the server authenticated with
        self.vip: str | None = None
        self.pushed_dns: list[str] = []
        self.remote_ts: list[str] = []
        self.routes: list[str] = []
        self.default_route = False
        self.route_note: str | None = None
        self.resolv_file: Path | None = None
        self.sa: dict[str, Any] = {}
        self._events: asyncio.Queue[IkeEvent] = asyncio.Queue()
        self._reached: set[Step] = set()
        self._loaded = False
        self._dialing = True
        self._connected = False
        self._closing = False
        self._lost_reported = False
        self._failure: Failure | None = None
        self._eap_started = False
        self._init_response = False
        self._child_logged = False
        self._down_pending = False
        self._name_check: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._recent: list[str] = []  # the last log lines of this SA (reasons for a loss)
        self.counters = CachedCounters(self.refresh_statistics)

    @property
    def device_name(self) -> str:
        return "WAN Miniport (IKEv2)"

    # -- progress ------------------------------------------------------------------------------

    def _progress(self, state: RASCS) -> None:
        if self._dialing and not self._closing:
            self.ctx.progress(state)

    def _step(self, step: Step) -> None:
        """Report ``step`` and any step before it not reported yet (log lines may be missed)."""
        for s in Step:
            if s in self._reached:
                if s is step:
                    return
                continue
            self._reached.add(s)
            self._progress(s.value)
            if s is Step.DEVICE_CONNECTED:
                self._progress(RASCS.AllDevicesConnected)
            if s is step:
                return

    # -- dial ----------------------------------------------------------------------------------

    async def dial(self) -> None:
        ctx = self.ctx
        entry = ctx.entry
        self._progress(RASCS.OpenPort)
        self.server = ctx.phone_number.strip()
        if not self.server or any(c.isspace() or c in ",;'\"" for c in self.server):
            raise RasError(
                ErrorCode.ERROR_CORRUPT_PHONEBOOK,
                f"PhoneNumber {self.server!r} is not a server name",
            )
        user = ctx.params.user
        if not user:
            raise RasError(
                ErrorCode.ERROR_AUTHENTICATION_FAILURE, "no user name to authenticate with"
            )
        ike_timeout = entry_number(entry, "IkeTimeout", ctx.options, "ike_timeout", 30, minimum=1)
        dpd = int(entry_number(entry, "IkeDpdSeconds", ctx.options, "dpd_seconds", 30, minimum=0))
        self.server_address = await self._resolve(self.server)
        cacerts = await self._trust_anchors()
        self.host = await charon_host(ctx)
        self.host.register(self.name, self._events.put_nowait)
        domain = ctx.params.domain if ctx.params.domain not in ("", "*") else ""
        eap_id = f"{domain}\\{user}" if domain else user
        await self._load(eap_id, cacerts, dpd)
        self._progress(RASCS.PortOpened)
        try:
            await within(self._negotiate(), ike_timeout)
        except TimeoutError:
            if self._init_response:
                raise RasError(
                    ERROR_IPSEC_IKE_TIMED_OUT,
                    f"negotiation with {self.server} not finished in {ike_timeout:g} s",
                ) from None
            raise RasError(
                ErrorCode.ERROR_VPN_TIMEOUT,
                f"{self.server} did not answer IKE_SA_INIT within {ike_timeout:g} s",
            ) from None
        await self._project()
        self._progress(RASCS.Projected)
        self._dialing = False
        self._connected = True
        # From now on events go to the link watcher, not to the dial.
        assert self.host is not None
        self.host.register(self.name, self._on_link_event)
        while not self._events.empty():
            self._on_link_event(self._events.get_nowait())

    async def _resolve(self, server: str) -> str:
        try:
            return str(ipaddress.ip_address(server))
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(server, 500, type=socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise RasError(
                ErrorCode.ERROR_DNSNAME_NOT_RESOLVABLE, f"{server}: {exc.strerror}"
            ) from None
        v4 = [i[4][0] for i in infos if i[0] == socket.AF_INET]
        return str(v4[0] if v4 else infos[0][4][0])

    async def _trust_anchors(self) -> list[bytes]:
        path = self.ctx.entry.get("IkeCaCertificate")
        if path:
            data = await asyncio.to_thread(
                read_user_file, path, self.ctx.owner_uid, "IkeCaCertificate"
            )
            what = f"IkeCaCertificate {path}"
        else:
            try:
                data = await asyncio.to_thread(Path(SYSTEM_CA_BUNDLE).read_bytes)
            except OSError as exc:
                raise RasError(
                    ERROR_IPSEC_IKE_AUTH_FAIL, f"no IkeCaCertificate and no system store: {exc}"
                ) from None
            what = SYSTEM_CA_BUNDLE
        certs = split_pem(data)
        if not certs:
            raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{what} holds no PEM certificate")
        return certs

    async def _load(self, eap_id: str, cacerts: list[bytes], dpd: int) -> None:
        assert self.host is not None
        name = self.name
        conn: dict[str, Any] = {
            "version": "2",
            "remote_addrs": [self.server_address],
            "vips": ["0.0.0.0"],
            "keyingtries": "1",
            "send_certreq": "yes",
            "local": {"auth": "eap-mschapv2", "eap_id": eap_id},
            # Any identity the CA vouches for; that it names the host dialed is checked here
            # (strongSwan's loose identity matching is not reachable over VICI).
            "remote": {"auth": "pubkey", "id": "%any", "cacerts": cacerts},
            # Ask for everything; the server narrows to its networks (routes: see _project).
            "children": {
                name: {
                    "remote_ts": ["0.0.0.0/0"],
                    "start_action": "none",
                    "close_action": "none",
                    "dpd_action": "clear",
                }
            },
        }
        if dpd:
            conn["dpd_delay"] = f"{dpd}s"
        try:
            await self.host.call(
                "load-shared",
                {"id": name, "type": "EAP", "data": self.ctx.params.password, "owners": [eap_id]},
            )
            self._loaded = True
            await self.host.call("load-conn", {name: conn})
        except Exception as exc:
            raise RasError(
                ErrorCode.ERROR_PORT_NOT_AVAILABLE, f"charon refused the connection: {exc}"
            ) from None

    async def _negotiate(self) -> None:
        assert self.host is not None
        try:
            await self.host.call("initiate", {"child": self.name, "ike": self.name, "timeout": -1})
        except Exception as exc:
            raise RasError(ERROR_IPSEC_IKE_ERROR, f"charon cannot initiate: {exc}") from None
        while True:
            event = await self._events.get()
            if event.kind is IkeEventKind.LOG:
                self._on_dial_log(event.message)
                if self._failure is not None and self._failure.code in (
                    ErrorCode.ERROR_VPN_TIMEOUT,
                    ERROR_IPSEC_IKE_TIMED_OUT,
                ):
                    # charon gave up retransmitting (it may send no updown event for that).
                    raise self._dial_failure("no answer")
            elif event.kind is IkeEventKind.CHARON_GONE:
                raise RasError(ERROR_IPSEC_IKE_ERROR, "charon exited during the dial")
            elif event.kind is IkeEventKind.IKE_UPDOWN:
                if event.up:
                    self.sa = dict(event.sa)
                else:
                    await self._catch_up(lambda: self._failure is not None)
                    raise self._dial_failure("the IKE_SA went down during negotiation")
            elif event.kind is IkeEventKind.CHILD_UPDOWN:
                if not event.up:
                    await self._catch_up(lambda: self._failure is not None)
                    raise self._dial_failure("the CHILD_SA went down during negotiation")
                self.sa = dict(event.sa)
                # The line charon logs just before this event: every earlier line (DNS, virtual IP)
                # has then been seen too.
                await self._catch_up(lambda: self._child_logged)
                break
        if self._name_check is not None:
            await self._name_check  # sets _failure (13801) on a mismatch
        if self._failure is not None:
            raise RasError(self._failure.code, self._failure.detail)
        self._step(Step.AUTHENTICATED)

    async def _catch_up(self, done: Callable[[], bool], wait: float = 1.0) -> None:
        """charon sends log lines from a queue, updown events at once: a log line may come after
        the event it led to. Read the log on (other events are of no use now) until ``done()``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not done():
            try:
                event = await within(self._events.get(), max(deadline - loop.time(), 0))
            except TimeoutError:
                return
            if event.kind is IkeEventKind.LOG:
                self._on_dial_log(event.message)

    def _on_dial_log(self, message: str) -> None:
        self._remember(message)
        if message.startswith(f"CHILD_SA {self.name}{{") and " established " in message:
            self._child_logged = True
        if message.startswith("initiating IKE_SA"):
            self._step(Step.CONNECT_DEVICE)
        elif message.startswith("parsed IKE_SA_INIT response"):
            self._init_response = True
            self._step(Step.DEVICE_CONNECTED)
        elif message.startswith("received end entity cert") or message.startswith(
            "server requested EAP"
        ):
            self._step(Step.AUTHENTICATE)
            if message.startswith("server requested EAP"):
                self._eap_started = True
        elif message.startswith("EAP method EAP_MSCHAPV2 succeeded"):
            self._step(Step.AUTHENTICATED)
        elif (m := _SERVER_AUTH.match(message)) and m.group(2) != "EAP" and not self.server_id:
            self.server_id = m.group(1)
            self._step(Step.AUTHENTICATE)
            if not names_host(*self._id_names(self.server_id), self.server):
                self._name_check = asyncio.create_task(self._check_server_name())
        elif m := _DNS.match(message):
            self.pushed_dns.append(m.group(1))
        elif m := _VIP.match(message):
            self.vip = m.group(1)
        elif self._failure is None and (
            failure := classify(message, self._eap_started, self._init_response)
        ):
            self._failure = failure

    @staticmethod
    def _id_names(identity: str) -> tuple[list[str], list[str]]:
        try:
            return [], [str(ipaddress.ip_address(identity))]
        except ValueError:
            return [identity.lower()], []

    async def _check_server_name(self) -> None:
        """The server's IDr is not the host dialed: its certificate must still name that host."""
        assert self.host is not None
        certs = await self.host.listing(
            "list-certs", "list-cert", {"type": "X509", "subject": self.server_id}
        )
        for cert in certs:
            data = cert.get("data")
            if cert.get("flag") in ("CA", "AA", "OCSP") or not isinstance(data, bytes):
                continue
            dns_names, ips = await asyncio.to_thread(cert_names, data)
            if names_host(dns_names, ips, self.server):
                return
        # Recorded first: the dial reports this, whatever charon says while the SA is torn down.
        self._failure = Failure(
            ERROR_IPSEC_IKE_AUTH_FAIL,
            f"the server certificate ({self.server_id}) does not name {self.server}",
        )
        self._events.put_nowait(IkeEvent(IkeEventKind.IKE_UPDOWN, self.name, up=False))
        with contextlib.suppress(Exception):
            await self.host.call("terminate", {"ike": self.name, "timeout": -1, "force": "yes"})

    def _dial_failure(self, fallback: str) -> RasError:
        if self._failure is not None:
            return RasError(self._failure.code, self._failure.detail)
        if not self._init_response:
            return RasError(
                ErrorCode.ERROR_VPN_TIMEOUT, f"{self.server} did not answer: {fallback}"
            )
        return RasError(ERROR_IPSEC_IKE_ERROR, f"{fallback}: {' | '.join(self._recent[-3:])}")

    def _remember(self, message: str) -> None:
        self._recent.append(message)
        del self._recent[:-20]

    # -- projection: routes and DNS ----------------------------------------------------------

    def _child(self) -> dict[str, Any]:
        for child in (self.sa.get("child-sas") or {}).values():
            if isinstance(child, dict):
                return child
        return {}

    async def _project(self) -> None:
        ctx = self.ctx
        child = self._child()
        self.remote_ts = [str(ts) for ts in child.get("remote-ts", [])]
        if self.vip is None:
            vips = self.sa.get("local-vips") or []
            self.vip = str(vips[0]) if vips else None
        if self.vip is None:
            raise RasError(
                ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED, "the server assigned no virtual IP"
            )
        wants_default = ctx.entry.get_int("IpPrioritizeRemote", 0) == 1
        default_ok, refused = default_route(ctx)
        defaults = [
            ts for ts in self.remote_ts if ipaddress.ip_network(ts, strict=False).prefixlen == 0
        ]
        self.routes = [ts for ts in self.remote_ts if ts not in defaults]
        if defaults:
            if default_ok:
                self.routes += defaults
                self.default_route = True
            else:
                await self._drop_default_routes()
                self.route_note = refused or (
                    "the server offered a default route; IpPrioritizeRemote is not 1: split tunnel"
                )
        elif wants_default:
            self.route_note = "IpPrioritizeRemote=1: the server allows only " + ", ".join(
                self.remote_ts
            )
        if self.route_note:
            ctx.log.info("handle %d: %s", ctx.handle, self.route_note)
        dns = self.dns_servers()
        if dns:
            self.resolv_file = await asyncio.to_thread(
                write_resolv, ctx.state_dir / "resolv", f"{INTERFACE}-{ctx.handle}", dns
            )

    async def _drop_default_routes(self) -> None:
        """kernel-libipsec routed 0.0.0.0/0 through the tunnel (table 220); this dial may not
        have it."""
        from pyroute2 import AsyncIPRoute

        try:
            async with AsyncIPRoute() as ipr:
                index = (await ipr.link_lookup(ifname=INTERFACE) or [0])[0]
                for route in await ipr.route("dump", table=ROUTING_TABLE):
                    if route.get("dst_len") == 0 and route.get_attr("RTA_OIF") == index:
                        await ipr.route("del", table=ROUTING_TABLE, dst="0.0.0.0/0", oif=index)
        except Exception as exc:
            self.ctx.log.warning(
                "handle %d: cannot remove the default route: %r", self.ctx.handle, exc
            )

    def dns_servers(self) -> list[str]:
        entry = self.ctx.entry
        if entry.get_int("IpNameAssign", 1) == 2:
            return [
                v
                for k in ("IpDnsAddress", "IpDns2Address")
                if (v := entry.get(k)) and v != "0.0.0.0"
            ]
        return list(self.pushed_dns)

    # -- after Connected -------------------------------------------------------------------------

    def _on_link_event(self, event: IkeEvent) -> None:
        if event.kind is IkeEventKind.LOG:
            self._remember(event.message)
            if self._down_pending:
                self._judge_loss(final=False)
        elif event.kind is IkeEventKind.CHARON_GONE:
            self._lost(ErrorCode.ERROR_LINK_FAILURE, "charon exited")
        elif not event.up and not self._down_pending:
            # The reason is in the log, which may lag behind this event: judge now if it is
            # there, else when it comes, at the latest after a moment.
            self._down_pending = True
            asyncio.get_running_loop().call_later(0.5, self._judge_loss, True)
            self._judge_loss(final=False)

    def _judge_loss(self, final: bool) -> None:
        recent = self._recent[-8:]
        detail = " | ".join(recent[-4:])
        if any("received DELETE" in m for m in recent):
            self._lost(ErrorCode.ERROR_REMOTE_DISCONNECTION, f"the server deleted the SA: {detail}")
        elif any(m.startswith("giving up after") for m in recent):
            self._lost(ErrorCode.ERROR_LINK_FAILURE, f"dead peer detection: {detail}")
        elif final:
            self._lost(ErrorCode.ERROR_REMOTE_DISCONNECTION, f"the SA went down: {detail}")

    def _lost(self, code: int, detail: str) -> None:
        if self._connected and not self._closing and not self._lost_reported:
            self._lost_reported = True
            self._connected = False
            self.ctx.link_lost(code, detail)

    # -- hang-up ----------------------------------------------------------------------------------

    async def hangup(self) -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._dialing = False
        try:
            if self._name_check is not None and not self._name_check.done():
                self._name_check.cancel()
            host = self.host
            if host is not None and self._loaded:
                wait_ms = int(float(self.ctx.options.get("hangup_timeout", 3.0)) * 1000)
                with contextlib.suppress(Exception):  # "no matching SAs": already gone
                    await host.call(
                        "terminate", {"ike": self.name, "timeout": wait_ms, "force": "yes"}
                    )
                with contextlib.suppress(Exception):
                    await host.call("unload-conn", {"name": self.name})
                with contextlib.suppress(Exception):
                    await host.call("unload-shared", {"id": self.name})
                self._loaded = False
            if host is not None:
                host.unregister(self.name)
            remove_resolv(self.resolv_file)
            self.resolv_file = None
        finally:
            self._closed.set()

    # -- queries ----------------------------------------------------------------------------------

    def projection(self, kind: int) -> Projection:
        if kind == RASP_PppIp:
            dns = [*self.dns_servers(), "", ""]
            return PppIpProjection(
                dwError=0 if self.vip else ErrorCode.ERROR_PPP_NO_ADDRESS_ASSIGNED,
                szIpAddress=self.vip or "",
                szServerIpAddress=self.server_address,
                szDnsAddress=dns[0],
                szDns2Address=dns[1],
            )
        return super().projection(kind)

    def statistics(self) -> LinkStatistics:
        self.counters.stale()
        return self.counters.value

    async def refresh_statistics(self) -> None:
        host = self.host
        if host is None or not self._loaded or self._closing:
            return
        try:
            sas = await host.listing("list-sas", "list-sa", {"ike": self.name})
        except Exception as exc:  # charon gone or the SA not there: keep what was read
            self.ctx.log.debug("handle %d: list-sas: %r", self.ctx.handle, exc)
            return
        self.counters.value = child_sa_statistics(sas, self.name)

    def status(self) -> LinkStatus:
        child = self._child()
        up = self._connected and not self._closing
        ike = "/".join(
            str(self.sa[k])
            for k in ("encr-alg", "integ-alg", "prf-alg", "dh-group")
            if k in self.sa
        )
        esp = "/".join(str(child[k]) for k in ("encr-alg", "integ-alg") if k in child)
        return LinkStatus(
            interface=INTERFACE if up else None,
            interface_reason=None if up else "the link is down",
            local_address=self.vip,
            remote_address=self.server_address or None,
            dns=tuple(self.dns_servers()),
            resolv_conf=str(self.resolv_file) if self.resolv_file else None,
            routes=tuple(self.routes) if up else (),
            default_route=self.default_route and up,
            route_note=self.route_note,
            extra={
                "server": self.server,
                "server_id": self.server_id or None,
                "traffic_selectors": ", ".join(self.remote_ts),
                "ike_sa": self.name,
                "ike_proposal": ike,
                "esp_proposal": esp,
            },
        )
