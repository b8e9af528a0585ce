"""WNetGetResourceInformation and WNetGetResourceParent: where a remote name sits in the
network hierarchy (root → provider → server → share → directories), from the name itself.

The provider is ``lpProvider`` when given (unknown: ERROR_BAD_PROVIDER), otherwise the first
provider, in order, that owns the name's syntax (none: ERROR_BAD_NET_NAME). No server is asked:
the answer says what the name is and which provider handles it; whether the share or directory
exists is what a connect (or an enumeration of its container) finds out.

Information: for ``\\\\server\\share\\dir\\file`` the share ``\\\\server\\share`` (a connectable
disk resource) and the rest ``\\dir\\file`` as the system path; a server alone is a container;
an sftp:// name is a directory (connectable and a container), with no system path.
Parent: one component less — a directory's parent directory or share, a share's server, a
server's provider (its NETWORK container), a provider's parent is the root of the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from ..codes import ErrorCode, RasError
from .netresource import (
    NETRESOURCE,
    RESOURCE_GLOBALNET,
    RESOURCEDISPLAYTYPE_DIRECTORY,
    RESOURCEDISPLAYTYPE_NETWORK,
    RESOURCEDISPLAYTYPE_ROOT,
    RESOURCEDISPLAYTYPE_SERVER,
    RESOURCEDISPLAYTYPE_SHARE,
    RESOURCETYPE_ANY,
    RESOURCETYPE_DISK,
    RESOURCEUSAGE_CONNECTABLE,
    RESOURCEUSAGE_CONTAINER,
)
from .providers.base import Provider


def _split(remote: str) -> tuple[str, list[str], str]:
    """``(root, components, separator)``: ``\\\\server`` or ``scheme://netloc``, then the rest."""
    text = remote.strip()
    if text.startswith(("\\\\", "//")):
        parts = [p for p in text[2:].replace("/", "\\").split("\\") if p]
        return "\\\\" + parts[0], parts[1:], "\\"
    url = urlsplit(text)
    return f"{url.scheme}://{url.netloc}", [unquote(p) for p in url.path.split("/") if p], "/"


def _join(root: str, components: list[str], sep: str) -> str:
    if sep == "\\":
        return root + "".join("\\" + c for c in components)
    return root + "".join("/" + quote(c, safe="~") for c in components)


def _resource(display: int, usage: int, remote: str | None, provider: str | None) -> NETRESOURCE:
    kind = RESOURCETYPE_DISK if usage & RESOURCEUSAGE_CONNECTABLE else RESOURCETYPE_ANY
    return NETRESOURCE(RESOURCE_GLOBALNET, kind, display, usage, None, remote, None, provider)


def owner(providers: Iterable[Provider], remote: str | None, named: str | None) -> Provider:
    """The provider of a remote name (see the module's docstring)."""
    providers = list(providers)
    if not remote or "\0" in remote or len(remote) > 4096:
        raise RasError(ErrorCode.ERROR_BAD_NET_NAME, "no remote name")
    if named:
        p = next((p for p in providers if p.name.casefold() == named.casefold()), None)
        if p is None:
            raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"no provider named {named!r}")
        if p.name.casefold() == remote.casefold() or p.server_of(remote) is not None:
            return p
        raise RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{remote!r} is not a {p.name} name")
    for p in providers:
        if p.name.casefold() == remote.casefold() or p.server_of(remote) is not None:
            return p
    raise RasError(ErrorCode.ERROR_BAD_NET_NAME, f"no provider knows {remote!r}")


def _is_smb(remote: str) -> bool:
    return remote.strip().startswith(("\\\\", "//")) or remote.strip().lower().startswith("smb:")


def information(p: Provider, remote: str) -> tuple[NETRESOURCE, str | None]:
    """WNetGetResourceInformation: the resource a name lies in, and the path below it."""
    if p.name.casefold() == remote.casefold():
        return _resource(RESOURCEDISPLAYTYPE_NETWORK, RESOURCEUSAGE_CONTAINER, p.name, p.name), None
    root, parts, sep = _split(remote)
    if not _is_smb(remote):
        usage = RESOURCEUSAGE_CONNECTABLE | RESOURCEUSAGE_CONTAINER
        return _resource(RESOURCEDISPLAYTYPE_DIRECTORY, usage, remote.strip(), p.name), None
    if not parts:
        server = p.server_of(remote) or root
        return _resource(RESOURCEDISPLAYTYPE_SERVER, RESOURCEUSAGE_CONTAINER, server, p.name), None
    share = _resource(
        RESOURCEDISPLAYTYPE_SHARE, RESOURCEUSAGE_CONNECTABLE, _join(root, parts[:1], sep), p.name
    )
    return share, (sep + sep.join(parts[1:]) if parts[1:] else None)


def parent(p: Provider, remote: str) -> NETRESOURCE:
    """WNetGetResourceParent: the container one level up."""
    if p.name.casefold() == remote.casefold():
        return _resource(RESOURCEDISPLAYTYPE_ROOT, RESOURCEUSAGE_CONTAINER, None, None)
    root, parts, sep = _split(remote)
    if not parts:
        return _resource(RESOURCEDISPLAYTYPE_NETWORK, RESOURCEUSAGE_CONTAINER, p.name, p.name)
    up = parts[:-1]
    if not up:
        server = p.server_of(remote) or root
        return _resource(RESOURCEDISPLAYTYPE_SERVER, RESOURCEUSAGE_CONTAINER, server, p.name)
    if _is_smb(remote) and len(up) == 1:
        return _resource(
            RESOURCEDISPLAYTYPE_SHARE, RESOURCEUSAGE_CONNECTABLE, _join(root, up, sep), p.name
        )
    usage = RESOURCEUSAGE_CONNECTABLE | RESOURCEUSAGE_CONTAINER
    return _resource(RESOURCEDISPLAYTYPE_DIRECTORY, usage, _join(root, up, sep), p.name)
