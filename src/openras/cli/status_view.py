"""What ``openras status --json`` prints for each connection: its record and its statistics."""

from __future__ import annotations

from typing import Any

from ..client import ApiError
from ..client.ras import Ras
from ..ras.records import ConnectionRecord, encode_record, encode_statistics


def status_json(ras: Ras, record: ConnectionRecord) -> dict[str, Any]:
    out = encode_record(record)
    try:
        out["statistics"] = encode_statistics(ras.statistics(record.handle))
    except ApiError:  # hung up between the two calls
        out["statistics"] = None
    return out
