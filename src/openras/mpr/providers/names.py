"""Parsing remote names: UNC, smb:// and sftp:// (design.md, "The MPR contract").

Forms accepted:

- UNC ``\\\\server\\share[\\path]`` (forward slashes are accepted too, as Windows does).
  Windows UNC names have no port. Two ways to reach an SMB server on another port:
  ``\\\\host@PORT\\share`` (the WebDAV redirector's ``host@port`` spelling, so the port
  travels with the name — tests and ``net use`` lines use this) and the provider option
  ``[mpr.smb] port = N`` (a site-wide default). The name wins over the option; 445 is the
  default. IPv6 literals go in brackets: ``\\\\[::1]@1445\\share``.
- ``smb://[user@]host[:port]/share[/path]`` (a password in the URL is refused: it would
  end up in logs and in the remembered-connection store).
- ``sftp://[user@]host[:port][/path]``: the path is absolute; ``/~`` or ``/~/rel`` (and an
  empty path) mean the user's home directory, as in the sftp URI draft.

Malformed names raise ``RasError(ERROR_BAD_NET_NAME)``. Since WN_BAD_NETNAME has the same
value (67), a provider that sees a well-formed name of another scheme raises the same
code and the router passes the name on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ...codes import WN, ErrorCode, RasError

SMB_PORT = 445
SSH_PORT = 22

_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$")
# Characters Windows forbids in share and path components (besides the separators).
_BAD_COMPONENT = re.compile(r'[\x00-\x1f<>:"|?*]')


@dataclass(frozen=True)
class RemoteName:
    scheme: str  # "smb" (UNC or smb://) or "sftp"
    host: str  # without brackets for IPv6
    port: int | None  # None = not given in the name
    share: str  # the SMB share; "" for sftp
    # SMB: components joined by "/" without a leading slash; sftp: absolute, or "~"-relative
    path: str
    user: str | None  # a user named in the URL
    text: str  # the name as written

    def unc(self, with_path: bool = True) -> str:
        """``\\\\host\\share[\\path]`` for smbprotocol (which takes the port separately)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        unc = rf"\\{host}\{self.share}"
        if with_path and self.path:
            unc += "\\" + self.path.replace("/", "\\")
        return unc


def _bad(text: str, why: str) -> RasError:
    return RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{text!r}: {why}")


def _host_port(text: str, host: str, port: str | None) -> tuple[str, int | None]:
    if not host or not _HOST_RE.match(host):
        raise _bad(text, "bad server name")
    number: int | None = None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise _bad(text, "bad port")
        number = int(port)
    return host.strip("[]"), number


def _components(text: str, parts: list[str]) -> str:
    for part in parts:
        if part in (".", "..") or _BAD_COMPONENT.search(part):
            raise _bad(text, f"bad path component {part!r}")
    return "/".join(parts)


def _parse_unc(text: str) -> RemoteName:
    body = text[2:].replace("/", "\\")
    parts = body.split("\\")
    while parts and parts[-1] == "":  # a trailing separator is harmless
        parts.pop()
    if len(parts) < 2 or "" in parts:
        raise _bad(text, "expected \\\\server\\share[\\path]")
    server, share, rest = parts[0], parts[1], parts[2:]
    host, sep, after = server.rpartition("@")
    port: str | None = after
    if not sep:
        host, port = server, None
    host, number = _host_port(text, host, port)
    if share.endswith("$") and share.upper() == "IPC$":
        raise _bad(text, "IPC$ is not a disk share")
    return RemoteName(
        "smb", host, number, _components(text, [share]), _components(text, rest), None, text
    )


def _split_url(text: str) -> tuple[str | None, str, int | None, str]:
    try:
        url = urlsplit(text)
        port = url.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise _bad(text, str(exc)) from None
    if url.password is not None:
        raise _bad(text, "a password in the name is not accepted")
    if url.query or url.fragment:
        raise _bad(text, "query or fragment in the name")
    host = url.hostname or ""
    if "[" in url.netloc:  # urlsplit drops the brackets of an IPv6 literal
        host = f"[{host}]"
    host, number = _host_port(text, host, None if port is None else str(port))
    user = unquote(url.username) if url.username else None
    return user, host, number, url.path


def _parse_smb_url(text: str) -> RemoteName:
    user, host, port, path = _split_url(text)
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts:
        raise _bad(text, "expected smb://host[:port]/share[/path]")
    return RemoteName(
        "smb", host, port, _components(text, parts[:1]), _components(text, parts[1:]), user, text
    )


def _parse_sftp_url(text: str) -> RemoteName:
    user, host, port, path = _split_url(text)
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts or parts[0] == "~":
        rel = _components(text, parts[1:])
        remote = "~/" + rel if rel else "~"
    else:
        remote = "/" + _components(text, parts)
    return RemoteName("sftp", host, port, "", remote, user, text)


def parse_remote_name(text: str) -> RemoteName:
    """Parse any supported remote name; RasError(ERROR_BAD_NET_NAME) when it is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise RasError(ErrorCode.ERROR_BAD_NET_NAME, "empty remote name")
    text = text.strip()
    if "\x00" in text:
        raise _bad(text, "NUL in name")
    if text.startswith(("\\\\", "//")):
        return _parse_unc(text)
    scheme = text.partition(":")[0].lower()
    if scheme == "smb" and text[3:6] == "://":
        return _parse_smb_url(text)
    if scheme == "sftp" and text[4:7] == "://":
        return _parse_sftp_url(text)
    raise _bad(text, "not a UNC, smb:// or sftp:// name")


def parse_container(text: str, scheme: str) -> RemoteName:
    """Like :func:`parse_for`, but a server alone (``\\\\server``, ``smb://host[:port][/]``) is
    accepted too, with an empty share: the name of a server's container when browsing."""
    if isinstance(text, str) and scheme == "smb":
        stripped = text.strip()
        if stripped.startswith(("\\\\", "//")):
            server = stripped[2:].replace("/", "\\").rstrip("\\")
            if server and "\\" not in server:
                host, sep, port = server.rpartition("@")
                host, number = _host_port(stripped, host if sep else server, port if sep else None)
                return RemoteName("smb", host, number, "", "", None, stripped)
        elif stripped.lower().startswith("smb://"):
            user, host, number, path = _split_url(stripped)
            if not path.strip("/"):
                return RemoteName("smb", host, number, "", "", user, stripped)
    return parse_for(text, scheme)


def parse_for(text: str, scheme: str) -> RemoteName:
    """Parse for one provider: a name of another scheme (or none) → WN_BAD_NETNAME, so the
    router asks the next provider."""
    name = parse_remote_name(text)
    if name.scheme != scheme:
        raise RasError(WN.WN_BAD_NETNAME, f"{text!r} is not an {scheme} name")
    return name
