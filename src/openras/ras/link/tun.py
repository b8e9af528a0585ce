"""A TUN interface for one PPP link: addresses, routes, resolver file, and the packet pump.

The interface is non-persistent: closing its file descriptor makes the kernel delete it
together with its addresses and routes, so even a daemon killed with SIGKILL leaves nothing
behind. DNS servers are never written to /etc/resolv.conf; they go to
``<state dir>/resolv/<ifname>.conf`` for a resolver manager (resolvconf, systemd-resolved
hooks) or the user to pick up.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import re
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from .resolv import remove_resolv, write_resolv

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CAP_NET_ADMIN = 12
READ_BATCH = 64  # packets read from the interface per wake-up, framed and sent together
IFNAMSIZ = 16  # including the NUL: names are at most 15 characters


def has_cap_net_admin() -> bool:
    """Whether this process holds CAP_NET_ADMIN in its effective set (not merely euid 0)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError):
        pass
    return False


def tun_unavailable_reason() -> str | None:
    """None when a TUN interface can be made here, else why not (reported in status)."""
    if not has_cap_net_admin():
        return "the daemon lacks CAP_NET_ADMIN"
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "/dev/net/tun is missing or not accessible"
    return None


def interface_name(entry: str, taken: Callable[[str], bool] | None = None) -> str:
    """A free interface name derived from the entry: [A-Za-z0-9_-] only, ≤ 15 characters."""
    taken = taken or _exists
    base = re.sub(r"[^A-Za-z0-9_-]", "", entry.replace(" ", "-"))[:15] or "ras"
    if base[0] == "-":  # ip(8) would read a leading dash as an option
        base = ("ras" + base)[:15]
    if not taken(base):
        return base
    for n in range(1, 1000):
        suffix = f"-{n}"
        name = base[: 15 - len(suffix)] + suffix
        if not taken(name):
            return name
    raise OSError(errno.EEXIST, f"no free interface name for {entry!r}")


def _exists(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


@dataclass
class TunConfig:
    name: str
    local: IPv4Address
    peer: IPv4Address | None
    mtu: int = 1500
    default_route: bool = False
    metric: int = 0
    dns: list[IPv4Address] = field(default_factory=list)
    resolv_dir: Path | None = None
    local_ifid: bytes | None = None  # IPv6 link-local from IPV6CP, when it came up


class TunInterface:
    """One TUN device. ``open()`` configures it; ``start(send)`` pumps packets to the link."""

    def __init__(self, config: TunConfig) -> None:
        self.config = config
        self.name = config.name
        self.fd: int | None = None
        self.index = 0
        self.resolv_file: Path | None = None
        self.default_route = False
        self.routes: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._send: Callable[[list[bytes]], int] | None = None
        self._paused_by: Callable[[], Any] | None = None
        self.rx_packets = self.tx_packets = self.dropped = 0

    async def open(self) -> None:
        cfg = self.config
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            # IFF_NO_PI: bare IP packets, the version nibble says v4 or v6.
            fcntl.ioctl(
                fd, TUNSETIFF, struct.pack("16sH22x", cfg.name.encode(), IFF_TUN | IFF_NO_PI)
            )
            from pyroute2 import AsyncIPRoute  # the sync IPRoute cannot run inside a running loop

            async with AsyncIPRoute() as ipr:
                self.index = (await ipr.link_lookup(ifname=cfg.name))[0]
                await ipr.link("set", index=self.index, mtu=cfg.mtu, state="up")
                peer = str(cfg.peer) if cfg.peer is not None else str(cfg.local)
                # local + peer address: the kernel adds the /32 route to the peer itself.
                await ipr.addr(
                    "add", index=self.index, local=str(cfg.local), address=peer, prefixlen=32
                )
                self.routes.append(f"{peer}/32")
                if cfg.default_route:
                    await self._add_default(ipr)
            self.fd = fd
        except BaseException:
            os.close(fd)  # the kernel removes the half-made interface with it
            raise
        if cfg.dns and cfg.resolv_dir is not None:
            self._write_resolv()

    async def _add_default(self, ipr: Any) -> None:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            await ipr.route("add", dst="0.0.0.0/0", oif=self.index, priority=self.config.metric)
            self.routes.append("default")
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise
            # Another default route with the same metric: override it with two /1 routes (more
            # specific, so they win) instead of deleting a route we could not restore reliably.
            for dst in ("0.0.0.0/1", "128.0.0.0/1"):
                await ipr.route("add", dst=dst, oif=self.index, priority=self.config.metric)
                self.routes.append(dst)
        self.default_route = True

    def _write_resolv(self) -> None:
        assert self.config.resolv_dir is not None
        self.resolv_file = write_resolv(self.config.resolv_dir, self.name, self.config.dns)

    # -- packets ----------------------------------------------------------------------------

    def start(self, send: Callable[[list[bytes]], int]) -> None:
        """Read packets from the interface and hand them to ``send`` a batch at a time; it
        returns how many of them it dropped."""
        assert self.fd is not None
        self._loop = asyncio.get_running_loop()
        self._send = send
        self._loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        fd, send = self.fd, self._send
        if fd is None or send is None:
            return
        # Drain a batch per wake-up and hand it over at once: one framing call and one socket
        # write for a burst.
        batch: list[bytes] = []
        read = os.read
        try:
            for _ in range(READ_BATCH):
                batch.append(read(fd, 65535))
        except BlockingIOError:
            pass
        except OSError:
            self.close_reader()
        if batch:
            self.rx_packets += len(batch)
            self.dropped += send(batch)

    def pause(self, until: asyncio.Future[Any] | asyncio.Task[Any]) -> None:
        """Stop reading until ``until`` is done (the link's write buffer drained)."""
        if self.fd is None or self._loop is None or self._paused_by is not None:
            return
        self._loop.remove_reader(self.fd)
        self._paused_by = until.cancel

        def resume(_: Any) -> None:
            self._paused_by = None
            if self.fd is not None and self._loop is not None:
                self._loop.add_reader(self.fd, self._readable)

        until.add_done_callback(resume)

    def write_packets(self, packets: list[bytes]) -> None:
        """Packets from the link to the kernel, in order; each that would block is dropped."""
        fd = self.fd
        if fd is None:
            return
        write = os.write
        written = 0
        for packet in packets:
            try:
                write(fd, packet)
                written += 1
            except OSError:
                self.dropped += 1
        self.tx_packets += written

    def write(self, packet: bytes) -> None:
        """A packet from the link to the kernel; dropped (like a full queue) if it would block."""
        if self.fd is None:
            return
        try:
            os.write(self.fd, packet)
            self.tx_packets += 1
        except OSError:
            self.dropped += 1

    def close_reader(self) -> None:
        if self.fd is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.fd)

    def close(self) -> None:
        """Delete the interface (closing the fd does it, routes and addresses included)."""
        self.close_reader()
        if self._paused_by is not None:
            self._paused_by()
            self._paused_by = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        remove_resolv(self.resolv_file)
        self.resolv_file = None
