"""RAS_STATS of a PPP link from the engine's counters: frames and octets each way, and the
HDLC receive errors by kind (RFC 1662)."""

from __future__ import annotations

from ...ppp.engine import LinkStats
from ..records import LinkStatistics


def link_statistics(stats: LinkStats, bps: int = 0) -> LinkStatistics:
    framing = stats.framing
    return LinkStatistics(
        dwBytesXmited=stats.tx_octets,
        dwBytesRcved=framing.octets,
        dwFramesXmited=stats.tx_frames,
        dwFramesRcved=framing.frames,
        dwCrcErr=framing.bad_fcs,
        # Too short, aborted (7D 7E) or with a bad address/control header.
        dwFramingErr=framing.too_short + framing.bad_header + framing.aborted,
        dwBufferOverrunErr=framing.oversize,  # longer than the MRU allows
        dwBps=bps,
    )
