"""glibc heap settings for the mount process: 1 MiB read buffers reused, not mapped afresh.

Every FUSE read of 1 MiB passes through several 1 MiB buffers (the SMB message, its payload,
libfuse's reply buffer). glibc serves blocks that large with mmap() and gives them back with
munmap() (or trims the heap's top after a free), so each buffer costs 256 page faults and
zeroed pages in the kernel: about a fifth of the mount process's CPU time when reading
sequentially. Fixed thresholds above the read-ahead window keep those blocks in the heap,
where freed ones are reused at once. The heap may then keep up to ``TRIM_THRESHOLD`` of free
memory — a bounded cost for one process per mount.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 << 20  # above any single buffer of a read (at most a 4 MiB window)
TRIM_THRESHOLD = 16 << 20  # well above what a read keeps alive at once (about 10 MiB)


def keep_read_buffers() -> bool:
    """Set the thresholds; False where the C library is not glibc (nothing changed)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl's mallopt is a no-op)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not ok:
        log.debug("mallopt refused the read-buffer thresholds")
    return ok
