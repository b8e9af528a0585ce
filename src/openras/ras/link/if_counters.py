"""The kernel's counters of a network interface (/sys/class/net/NAME/statistics), for the
RAS_STATS of links whose packets go through an interface another program drives (OpenVPN)."""

from __future__ import annotations

from pathlib import Path

from ..records import LinkStatistics

SYS_NET = Path("/sys/class/net")
_FILES = (
    "tx_bytes",
    "rx_bytes",
    "tx_packets",
    "rx_packets",
    "rx_crc_errors",
    "rx_frame_errors",
    "rx_over_errors",
    "rx_fifo_errors",
)


def interface_counters(name: str) -> dict[str, int]:
    """The counters of interface ``name``; empty when it does not exist. Blocking (sysfs)."""
    if not name or "/" in name or name in (".", ".."):
        return {}
    directory = SYS_NET / name / "statistics"
    out: dict[str, int] = {}
    for file in _FILES:
        try:
            out[file] = int((directory / file).read_text().strip() or 0)
        except (OSError, ValueError):
            continue
    return out


def interface_statistics(name: str) -> LinkStatistics:
    c = interface_counters(name)
    return LinkStatistics(
        dwBytesXmited=c.get("tx_bytes", 0),
        dwBytesRcved=c.get("rx_bytes", 0),
        dwFramesXmited=c.get("tx_packets", 0),
        dwFramesRcved=c.get("rx_packets", 0),
        dwCrcErr=c.get("rx_crc_errors", 0),
        dwFramingErr=c.get("rx_frame_errors", 0),
        dwBufferOverrunErr=c.get("rx_over_errors", 0),
        dwHardwareOverrunErr=c.get("rx_fifo_errors", 0),
    )
