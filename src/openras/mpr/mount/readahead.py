"""The kernel's read-ahead for one FUSE mount: wide enough for 1 MiB FUSE read requests.

The kernel reads a FUSE file through its page cache in read-ahead windows of the mount's
backing device (``/sys/class/bdi/MAJ:MIN/read_ahead_kb``), and FUSE caps that at what the
kernel offered at FUSE_INIT: 128 KiB. Every sequential read then becomes one FUSE request
per 128 KiB, each a round trip into the (single-threaded, Python) mount process. libfuse 3
already lets requests be up to 1 MiB (``max_pages``), so a wider window alone makes them
1 MiB: eight times fewer round trips, and the kernel keeps several requests queued so the
mount process always has the next one waiting.

Only root may write to sysfs: a daemon that runs as a user leaves the default (reads work,
just in smaller requests). The window only grows for sequential reading; random reads keep
their small initial window.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

READ_AHEAD_KIB = 4096  # four 1 MiB requests queued: as many as the SMB reader keeps in flight
BDI_ROOT = Path("/sys/class/bdi")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def bdi_path(mount_point: Path) -> Path | None:
    """The read-ahead control of our FUSE mount on ``mount_point``, or None if there is none.

    Found in the mount table, not by a stat through the mount: a user's own mount (no
    ``allow_other``) refuses even root.
    """
    wanted = os.path.realpath(mount_point)
    device: str | None = None
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields, _, rest = line.partition(" - ")
            parts = fields.split(" ")
            if len(parts) > 4 and _unescape(parts[4]) == wanted:
                # The last entry for a path is the mount on top. Only our own FUSE mounts:
                # never retune the device of whatever else is mounted there.
                fstype = rest.split(" ", 1)[0]
                device = parts[2] if fstype.startswith("fuse.openras-") else None
    if device is None or not re.fullmatch(r"[0-9]+:[0-9]+", device):
        return None
    return BDI_ROOT / device / "read_ahead_kb"


def widen_read_ahead(mount_point: Path, kib: int = READ_AHEAD_KIB) -> bool:
    """Set the mount's read-ahead window to ``kib``; False (and the default kept) if not allowed.

    Blocking (file system calls): call it off the event loop.
    """
    try:
        path = bdi_path(mount_point)
        if path is None:
            return False
        path.write_text(f"{kib}\n", encoding="ascii")
    except OSError as exc:
        log.debug("read-ahead of %s left at the default: %s", mount_point, exc)
        return False
    return True
