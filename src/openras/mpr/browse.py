"""Browsing below the providers for WNetOpenEnum(RESOURCE_GLOBALNET, container): the network
hierarchy is root → provider (a NETWORK container) → server (a SERVER container) → shares or
directories.

- A provider's container (``lpRemoteName`` the provider's name, or only ``lpProvider`` set)
  lists the servers the caller uses through that provider: those of their connections and
  remembered connections (there is no network-wide browse list to ask).
- Any other container is given to its provider (``lpProvider``, or each provider in order,
  as for a connect): SMB lists a server's shares (NetShareEnum), SFTP the directories under a
  path. The provider may reuse the credentials of the caller's own connection to that server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..codes import WN, ErrorCode, RasError
from ..timeouts import within
from .netresource import (
    NETRESOURCE,
    RESOURCE_GLOBALNET,
    RESOURCEDISPLAYTYPE_SERVER,
    RESOURCETYPE_ANY,
    RESOURCEUSAGE_CONTAINER,
)
from .providers.base import BrowseRequest, Credential, Provider

# A provider's answer that means "not my name": ask the next one.
DECLINES = frozenset({WN.WN_BAD_NETNAME, WN.WN_NOT_SUPPORTED, WN.WN_NO_NETWORK})


def _provider_named(providers: Iterable[Provider], name: str | None) -> Provider | None:
    if not name:
        return None
    return next((p for p in providers if p.name.casefold() == name.casefold()), None)


def servers(provider: Provider, remote_names: Iterable[str]) -> list[NETRESOURCE]:
    """The server containers behind ``remote_names`` (each once, in first-seen order)."""
    seen: dict[str, str] = {}
    for remote in remote_names:
        server = provider.server_of(remote)
        if server is not None:
            seen.setdefault(server.casefold(), server)
    return [
        NETRESOURCE(
            RESOURCE_GLOBALNET,
            RESOURCETYPE_ANY,
            RESOURCEDISPLAYTYPE_SERVER,
            RESOURCEUSAGE_CONTAINER,
            None,
            server,
            None,
            provider.name,
        )
        for server in seen.values()
    ]


async def browse(
    container: NETRESOURCE,
    providers: list[Provider],
    *,
    owner_uid: int,
    remote_names: Callable[[Provider], list[str]],
    credentials: Callable[[Provider], tuple[Credential, ...]],
    options: Callable[[Provider], dict[str, Any]],
    limit: float,
) -> list[NETRESOURCE]:
    """The resources inside ``container`` (a provider gets ``limit`` seconds); RasError with
    the WNet code otherwise."""
    named = _provider_named(providers, container.lpProvider)
    if container.lpProvider and named is None:
        raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"no provider named {container.lpProvider!r}")
    top = _provider_named(providers, container.lpRemoteName)
    if top is not None and named in (None, top):
        return servers(top, remote_names(top))
    if not container.lpRemoteName:
        if named is None:
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "container without a name")
        return servers(named, remote_names(named))
    asked = [named] if named is not None else providers
    if not asked:
        raise RasError(ErrorCode.ERROR_NO_NETWORK, "no network provider is configured")
    for p in asked:
        request = BrowseRequest(container.lpRemoteName, credentials(p), owner_uid, options(p))
        try:
            return await within(p.browse(request), limit)
        except RasError as exc:
            if exc.code not in DECLINES or len(asked) == 1:
                if exc.code == WN.WN_NOT_SUPPORTED:
                    raise RasError(ErrorCode.ERROR_NOT_SUPPORTED, exc.detail) from None
                raise
        except TimeoutError:
            raise RasError(
                ErrorCode.ERROR_BAD_NET_NAME,
                f"{container.lpRemoteName}: no answer in {limit:g} s",
            ) from None
    raise RasError(ErrorCode.ERROR_BAD_NET_NAME, f"no provider knows {container.lpRemoteName}")
