"""``openras entry trust ENTRY`` and ``openras net trust REMOTE``: add a server's SSH host key
to the caller's known-hosts file, as ``ssh`` does on first contact — but only when asked.

The key is fetched with a key exchange (no login), its fingerprint shown, and the line
appended to the file the dial or mapping will read (the entry's ``SshKnownHosts``, else
``~/.ssh/known_hosts``). The caller's own process writes it, with the caller's own rights.
Confirmation: ``--yes``, or ``--fingerprint SHA256:...`` (checked against the key offered),
or an answer on a terminal.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from .. import hostkeys
from ..client import ApiError, Client, entry_path
from ..codes import ErrorCode
from ..i18n import _
from ..ras.devices.ssh import DEFAULT_PORT, split_host_port

FETCH_TIMEOUT = 20.0


def _confirm(fingerprint: str, expected: str | None, yes: bool) -> None:
    if expected is not None:
        if expected.strip() != fingerprint:
            raise ApiError(
                hostkeys.UNTRUSTED,
                detail=f"the server offers {fingerprint}, not {expected.strip()}: not trusted",
            )
        return
    if yes:
        return
    if not sys.stdin.isatty():
        raise ApiError(
            ErrorCode.ERROR_INTERACTIVE_MODE,
            detail="check the fingerprint, then run again with --yes or --fingerprint FP",
        )
    reply = input(_("Trust this key? (y/N) "))
    if not reply.strip().lower().startswith("y"):
        raise ApiError(ErrorCode.ERROR_CANCELLED, detail="the key was not trusted")


def trust_host(
    host: str, port: int, known_hosts: str, expected: str | None, yes: bool, as_json: bool
) -> int:
    path = hostkeys.resolve_for(known_hosts, os.getuid())
    key = asyncio.run(hostkeys.server_key(host, port, FETCH_TIMEOUT))
    if key is None:
        raise ApiError(
            ErrorCode.ERROR_NO_ANSWER,
            detail=f"{host}:{port}: no SSH server answered",
        )
    fingerprint = hostkeys.fingerprint(key)
    if not as_json:
        print(
            _("{host} offers {algorithm} key {fingerprint}").format(
                host=hostkeys.pattern(host, port),
                algorithm=key.get_algorithm(),
                fingerprint=fingerprint,
            )
        )
    _confirm(fingerprint, expected, yes or (as_json and expected is None and yes))
    line = hostkeys.append(path, host, port, key)
    result: dict[str, Any] = {
        "host": host,
        "port": port,
        "fingerprint": fingerprint,
        "known_hosts": path,
        "line": line,
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(_("Added to {path}.").format(path=path))
    return 0


def trust_entry(
    client: Client, name: str, as_json: bool, expected: str | None = None, yes: bool = False
) -> int:
    entry = client.call("GET", entry_path(name))
    props = entry["properties"]
    if entry["device"] != "ssh":
        raise ApiError(
            ErrorCode.ERROR_INVALID_PARAMETER,
            detail=f"{name} is a {entry['device'] or 'no-DEVICE'} entry; trust is for DEVICE=ssh",
        )
    host, port = split_host_port(props.get("PhoneNumber", ""), DEFAULT_PORT)
    return trust_host(host, port, props.get("SshKnownHosts", ""), expected, yes, as_json)


def trust_remote(
    remote: str, known_hosts: str, as_json: bool, expected: str | None, yes: bool
) -> int:
    """``openras net trust sftp://host[:port]/path`` or ``\\\\host\\path`` (SFTP mappings)."""
    from ..codes import RasError
    from ..mpr.providers.names import SSH_PORT, parse_remote_name

    try:
        name = parse_remote_name(remote)
    except RasError as exc:
        raise ApiError(ErrorCode.ERROR_BAD_NET_NAME, detail=exc.detail) from None
    return trust_host(name.host, name.port or SSH_PORT, known_hosts, expected, yes, as_json)
