"""RAS_STATS of an IKEv2 link from charon's ``list-sas`` answer: the counters of its CHILD_SAs.

charon counts ESP payload bytes and packets per CHILD_SA (``bytes-in``, ``packets-out``, …);
a rekeyed CHILD_SA starts again from zero, so the sum covers the SAs installed now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..records import LinkStatistics


def _count(child: Mapping[str, Any], key: str) -> int:
    try:
        return int(child.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def child_sa_statistics(sas: Iterable[Mapping[str, Any]], ike_name: str) -> LinkStatistics:
    """``sas``: the decoded ``list-sa`` events ({ike name: {…, "child-sas": {…}}})."""
    totals = {"bytes-out": 0, "bytes-in": 0, "packets-out": 0, "packets-in": 0}
    for message in sas:
        ike = message.get(ike_name)
        if not isinstance(ike, Mapping):
            continue
        for child in (ike.get("child-sas") or {}).values():
            if isinstance(child, Mapping):
                for key in totals:
                    totals[key] += _count(child, key)
    return LinkStatistics(
        dwBytesXmited=totals["bytes-out"],
        dwBytesRcved=totals["bytes-in"],
        dwFramesXmited=totals["packets-out"],
        dwFramesRcved=totals["packets-in"],
    )
