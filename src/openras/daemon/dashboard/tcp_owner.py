"""Which local uid owns the other end of a loopback TCP connection (what identd answers).

The kernel lists every IPv4 TCP socket of this network namespace with its owner's uid in
/proc/net/tcp. The dashboard uses it so that a token or a session cookie carried to another
user's program is worth nothing: the browser's socket must belong to the session's user (or
root). Loopback only: both ends are in this namespace's table.
"""

from __future__ import annotations

import socket
import struct

PROC_NET_TCP = "/proc/net/tcp"


def _hex_endpoint(host: str, port: int) -> str:
    # /proc/net/tcp prints the address as the native-endian 32-bit word, then the port.
    (word,) = struct.unpack("=I", socket.inet_aton(host))
    return f"{word:08X}:{port:04X}"


def owner_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the socket whose local end is ``client`` and remote end is ``server``.

    Blocking (reads procfs): call it through ``asyncio.to_thread`` from the event loop.
    """
    local, remote = _hex_endpoint(*client), _hex_endpoint(*server)
    try:
        with open(PROC_NET_TCP, encoding="ascii") as table:
            next(table, None)  # header
            for line in table:
                fields = line.split()
                if len(fields) > 7 and fields[1] == local and fields[2] == remote:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None
