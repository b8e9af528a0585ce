"""Shared CLI pieces: exit statuses and error lines."""

from __future__ import annotations

import sys
from typing import Any

from ..codes import error_string
from ..i18n import _


def exit_status(code: int) -> int:
    """POSIX exit statuses are 8 bits: a RAS code is reported modulo 256, never as 0 for a failure.

    The full code is always printed; ``--json`` output carries it too.
    """
    if code == 0:
        return 0
    return code % 256 or 255


def print_ras_error(code: int, detail: str = "") -> None:
    print(
        _("Remote Access error {code} - {message}").format(code=code, message=error_string(code)),
        file=sys.stderr,
    )
    if detail:
        print(f"  ({detail})", file=sys.stderr)


EXIT_STATUS_HELP = """exit status:
  0    success
  1    a usage mistake (the message says which) or a local file that cannot be read
  2    argparse: unknown option or missing argument
  N    a Remote Access or system error: its code modulo 256 (691 exits 179; a code that would
       wrap to 0 exits 255); the full code, its text and the reason are printed on stderr"""


def print_warnings(warnings: list[str], entry: str = "") -> None:
    where = f"{entry}: " if entry else ""
    for warning in warnings:
        print(_("Warning: {warning}").format(warning=f"{where}{warning}"), file=sys.stderr)


def link_summary(record: Any) -> dict[str, Any]:
    """Where a connected link is reachable: its SOCKS listener or its interface."""
    dev = record.device
    out: dict[str, Any] = {}
    if dev.socks_port:
        out.update(socks_host=dev.socks_host or "127.0.0.1", socks_port=dev.socks_port)
    if dev.interface:
        out["interface"] = dev.interface
    if dev.local_address:
        out["local_address"] = dev.local_address
    return out


def describe_link(where: dict[str, Any]) -> str:
    parts = []
    if "socks_port" in where:
        parts.append(
            _("SOCKS5 proxy on {host}:{port}").format(
                host=where["socks_host"], port=where["socks_port"]
            )
        )
    if "interface" in where:
        address = f" ({where['local_address']})" if where.get("local_address") else ""
        parts.append(
            _("interface {name}{address}").format(name=where["interface"], address=address)
        )
    return _("Connected: {where}.").format(where=", ".join(parts))
