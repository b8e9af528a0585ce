"""``openras status``: the RASCONN view of every connection (``--full``: status records), or
one handle's record; ``--json`` adds each connection's statistics (RAS_STATS)."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..client import ApiError
from ..client.ras import Ras
from ..codes import error_name, state_name
from ..i18n import _
from ..ras.records import (
    ConnectionRecord,
    decode_record,
    encode_record,
    encode_statistics,
)


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    print()


def _record_line(r: ConnectionRecord) -> str:
    err = f" error {r.error} {error_name(r.error)}" if r.error else ""
    dev = r.device
    extra = f" socks {dev.socks_host}:{dev.socks_port}" if dev.socks_port else ""
    extra += f" if {dev.interface}" if dev.interface else ""
    return (
        f"{r.handle:>5}  {r.entry:<24} {r.device_type:<7} {state_name(r.state):<26} "
        f"{r.phase.value:<11} uid {r.owner_uid} refs {r.refs}{extra}{err}"
    )


def _header(full: bool) -> str:
    """The header row, in the user's language (outside f-strings: the extractor skips those)."""
    handle, entry, device = _("Handle"), _("Entry"), _("Device")
    head = f"{handle:>5}  {entry:<24} {device:<7} "
    if full:
        state, phase = _("State"), _("Phase")
        return head + f"{state:<26} {phase:<11} " + _("Owner / refs / link")
    return head + _("Device name")


def print_status(
    ras: Ras, handle: int | None, as_json: bool, full: bool, daemon_line: str = ""
) -> int:
    """``daemon_line`` (which daemon answers) heads the human output."""
    if daemon_line and not as_json:
        print(daemon_line)
    if handle is not None:
        record = ras.status(handle)
        if as_json:
            out = encode_record(record)
            try:
                out["statistics"] = encode_statistics(ras.statistics(record.handle))
            except ApiError:  # hung up between the two calls
                out["statistics"] = None
            _dump(out)
        else:
            print(_header(full=True))
            print(_record_line(record))
        return 0
    if not full and not as_json:
        conns = ras.enumerate()
        if conns:
            print(_header(full))
        else:
            print(_("No connections"))
        for c in conns:
            print(f"{c.handle:>5}  {c.entry:<24} {c.device_type:<7} {c.device_name}")
        return 0
    rows = ras.listing(full, statistics=as_json)
    if as_json:
        _dump(rows)
        return 0
    if not rows:
        print(_("No connections"))
        return 0
    print(_header(full))
    for row in rows:
        print(_record_line(decode_record(row)))
    return 0
