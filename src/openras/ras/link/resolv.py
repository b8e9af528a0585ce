"""Resolver files of links: DNS servers a link learned, never written to /etc/resolv.conf.

They go to ``<state dir>/resolv/<ifname>.conf`` for a resolver manager (resolvconf,
systemd-resolved hooks) or the user to pick up; every link device (PPP, VPN) writes them here.
Blocking (small file writes): call from a thread or accept a short write on the loop.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path


def write_resolv(
    directory: Path, ifname: str, dns: Iterable[IPv4Address | IPv6Address | str]
) -> Path:
    """Write (atomically) the resolver file of ``ifname``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{ifname}.conf"
    text = f"# written by openras for interface {ifname}\n"
    text += "".join(f"nameserver {a}\n" for a in dns)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def remove_resolv(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
