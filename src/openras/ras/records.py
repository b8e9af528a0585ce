"""Typed results of the RAS layer: connection records, link status and projections.

The manager and the devices return these; ``encode_*`` / ``decode_*`` are the JSON codec used only
at the HTTP edges (the daemon's routes, the client). Projection records keep the field names of the
Windows structures (RASPPPIP, RASPPPLCP, …) because pywin32 programs read them by those names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..codes import RASCS, error_name, state_name
from ..events.types import Phase

# RASDIALPARAMS password "handle": GetEntryDialParams returns this in place of a saved
# password, and RasDial given it uses the saved one (Windows does the same).
SAVED_PASSWORD_HANDLE = "*" * 16

# A device-specific status value (counters, names, flags).
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class LinkStatus:
    """What a device reports about its link, beside the RASCONNSTATUS fields."""

    interface: str | None = None
    interface_reason: str | None = None  # why there is no interface, when there is none
    local_address: str | None = None
    remote_address: str | None = None
    dns: tuple[str, ...] = ()
    resolv_conf: str | None = None
    routes: tuple[str, ...] = ()
    default_route: bool = False
    route_note: str | None = None
    socks_host: str | None = None
    socks_port: int | None = None
    extra: Mapping[str, Scalar] = field(default_factory=dict)  # device-specific fields


@dataclass(frozen=True)
class ConnectionRecord:
    """RasGetConnectStatus / RasEnumConnections: one handle (never any secret)."""

    handle: int
    entry: str  # RASCONN szEntryName: the entry, or "." + phone number
    phonebook: str
    device_type: str
    device_name: str
    phone_number: str
    guid: str
    state: RASCS
    error: int
    extended_error: int
    detail: str
    phase: Phase
    owner_uid: int
    refs: int
    user: str
    created: float
    connected_at: float | None
    device: LinkStatus
    subentry: int = 1
    flags: int = 0  # RASCONN dwFlags as seen by the caller (RASCF_OwnerKnown, RASCF_OwnerMatch)


@dataclass(frozen=True)
class RasConn:
    """RASCONN (RasEnumConnections): what enumeration answers unless full records are asked for."""

    handle: int  # hrasconn
    entry: str  # szEntryName
    device_type: str  # szDeviceType
    device_name: str  # szDeviceName
    phonebook: str  # szPhonebook
    subentry: int  # dwSubEntry
    guid: str  # guidEntry
    flags: int  # dwFlags (RASCF_OwnerKnown, RASCF_OwnerMatch)


@dataclass(frozen=True)
class DialStarted:
    """What RasDial answers at once: the handle and where its notifications start."""

    handle: int
    seq: int  # the dial's notifications are the handle's events after this sequence number
    shared: bool  # joined an existing connection of the same entry (contract point 8)
    state: RASCS
    refs: int


@dataclass(frozen=True)
class HangupStarted:
    handle: int
    refs: int  # references left; 0 = teardown started
    seq: int


@dataclass(frozen=True)
class LinkStatistics:
    """RAS_STATS (RasGetConnectionStatistics), with the Windows field names: pywin32 programs
    read them by those names. Devices fill the counters they have; the rest stay 0."""

    dwBytesXmited: int = 0
    dwBytesRcved: int = 0
    dwFramesXmited: int = 0
    dwFramesRcved: int = 0
    dwCrcErr: int = 0
    dwTimeoutErr: int = 0
    dwAlignmentErr: int = 0
    dwHardwareOverrunErr: int = 0
    dwFramingErr: int = 0
    dwBufferOverrunErr: int = 0
    dwCompressionRatioIn: int = 0  # percent; 0 = no compression
    dwCompressionRatioOut: int = 0
    dwBps: int = 0  # the device's speed in bits per second, when it has one
    dwConnectDuration: int = 0  # milliseconds since the link reached Connected


# -- projections (RasGetProjectionInfo) ----------------------------------------------------------
@dataclass(frozen=True)
class PppIpProjection:
    """RASPPPIP (RASP_PppIp)."""

    dwError: int = 0
    szIpAddress: str = ""
    szServerIpAddress: str = ""
    dwOptions: int = 0
    dwServerOptions: int = 0
    szDnsAddress: str = ""
    szDns2Address: str = ""
    dwSocksPort: int | None = None  # openras: an SSH link's SOCKS listener


@dataclass(frozen=True)
class PppIpv6Projection:
    """RASPPPIPV6 (RASP_PppIpv6); identifiers as hex."""

    dwError: int = 0
    bLocalInterfaceIdentifier: str = ""
    bPeerInterfaceIdentifier: str = ""
    bLocalCompressionProtocol: str = ""
    bPeerCompressionProtocol: str = ""


@dataclass(frozen=True)
class PppLcpProjection:
    """RASPPPLCP (RASP_PppLcp), with the rest of what LCP negotiated."""

    dwError: int = 0
    fBundled: bool = False
    fMultilink: bool = False
    dwAuthenticationProtocol: int = 0
    dwAuthenticationData: int = 0
    dwEapTypeId: int = 0
    dwServerAuthenticationProtocol: int = 0
    dwServerAuthenticationData: int = 0
    dwServerEapTypeId: int = 0
    dwTerminateReason: int = 0
    dwServerTerminateReason: int = 0
    szReplyMessage: str = ""
    dwOptions: int = 0
    dwServerOptions: int = 0
    dwMru: int = 0
    dwServerMru: int = 0
    dwAccm: int = 0
    dwServerAccm: int = 0
    dwMagicNumber: int = 0
    dwServerMagicNumber: int = 0


@dataclass(frozen=True)
class SocksProjection:
    """openras's RASP_Socks: the SOCKS5 listener an SSH link projects."""

    dwError: int = 0
    szSocksAddress: str = "127.0.0.1"
    dwSocksPort: int = 0


Projection = PppIpProjection | PppIpv6Projection | PppLcpProjection | SocksProjection


# -- the JSON codec (HTTP edges only) ------------------------------------------------------------
def encode_status(status: LinkStatus) -> dict[str, Any]:
    out = {f.name: getattr(status, f.name) for f in dataclasses.fields(status) if f.name != "extra"}
    out["dns"], out["routes"] = list(status.dns), list(status.routes)
    out.update(status.extra)
    return out


_STATUS_FIELDS = tuple(f.name for f in dataclasses.fields(LinkStatus) if f.name != "extra")


def decode_status(data: Mapping[str, Any]) -> LinkStatus:
    known = {k: v for k, v in data.items() if k in _STATUS_FIELDS}
    known["dns"] = tuple(known.get("dns") or ())
    known["routes"] = tuple(known.get("routes") or ())
    extra = {k: v for k, v in data.items() if k not in _STATUS_FIELDS}
    return LinkStatus(**known, extra=extra)


def encode_record(record: ConnectionRecord) -> dict[str, Any]:
    out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    out["state"] = int(record.state)
    out["phase"] = record.phase.value
    out["device"] = encode_status(record.device)
    out["state_name"] = state_name(record.state)
    out["error_name"] = error_name(record.error) if record.error else ""
    return out


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(ConnectionRecord))


def decode_record(data: Mapping[str, Any]) -> ConnectionRecord:
    known = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
    known["state"] = RASCS(known["state"])
    known["phase"] = Phase(known["phase"])
    known["device"] = decode_status(known.get("device") or {})
    return ConnectionRecord(**known)


def encode_rasconn(conn: RasConn) -> dict[str, Any]:
    # Written out: enumeration of many links is hot, and asdict() deep-copies.
    return {
        "handle": conn.handle,
        "entry": conn.entry,
        "device_type": conn.device_type,
        "device_name": conn.device_name,
        "phonebook": conn.phonebook,
        "subentry": conn.subentry,
        "guid": conn.guid,
        "flags": conn.flags,
    }


def decode_rasconn(d: Mapping[str, Any]) -> RasConn:
    return RasConn(
        d["handle"],
        d["entry"],
        d["device_type"],
        d["device_name"],
        d["phonebook"],
        d["subentry"],
        d["guid"],
        d["flags"],
    )


# The columns form of a RASCONN listing (``?form=columns``): ``{"columns": [...], "rows":
# [[...], ...]}``, each row's values in the order of ``columns``. Half the bytes of the objects
# form, and a list parses faster than an object.
RASCONN_COLUMNS = tuple(f.name for f in dataclasses.fields(RasConn))


def rasconn_row(conn: RasConn) -> list[Any]:
    return [getattr(conn, name) for name in RASCONN_COLUMNS]


def encode_rasconn_table(conns: Iterable[RasConn]) -> dict[str, Any]:
    return {"columns": list(RASCONN_COLUMNS), "rows": [rasconn_row(c) for c in conns]}


def table_picker(table: Mapping[str, Any], names: Sequence[str]) -> Callable[[Any], Any]:
    """A getter of ``names``' values (a tuple, or the value for one name) from each row of a
    columns-form listing; found by the table's own ``columns``, so a reader keeps working when
    a daemon adds or reorders columns. A missing column raises KeyError."""
    columns = list(table["columns"])
    try:
        return itemgetter(*(columns.index(name) for name in names))
    except ValueError as exc:
        raise KeyError(str(exc)) from None


def decode_rasconn_table(table: Mapping[str, Any]) -> list[RasConn]:
    pick = table_picker(table, RASCONN_COLUMNS)
    return [RasConn(*pick(row)) for row in table["rows"]]


def encode_projection(projection: Projection) -> dict[str, Any]:
    out = dataclasses.asdict(projection)
    if out.get("dwSocksPort", 0) is None:
        del out["dwSocksPort"]
    return out


def encode_statistics(stats: LinkStatistics) -> dict[str, int]:
    return dataclasses.asdict(stats)


_STATISTICS_FIELDS = frozenset(f.name for f in dataclasses.fields(LinkStatistics))


def decode_statistics(data: Mapping[str, Any]) -> LinkStatistics:
    return LinkStatistics(**{k: int(v) for k, v in data.items() if k in _STATISTICS_FIELDS})
