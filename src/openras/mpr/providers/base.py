"""The provider interface the router walks (the analogue of a Windows network provider DLL).

A provider that does not own a remote name raises ``RasError(WN_BAD_NETNAME)`` from
:meth:`Provider.connect` (or WN_NO_NETWORK / WN_NOT_SUPPORTED...), and the router asks the
next one (reference/mpr.md §6). Any other error ends the walk and is the caller's result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...codes import WN, ErrorCode, RasError
from ..netresource import NETRESOURCE


@dataclass
class ConnectRequest:
    remote_name: str  # as the caller wrote it: \\server\share, smb://host:port/share, sftp://user@host:port/path
    user: str | None  # None = the default (the provider's / the remote name's)
    password: str | None = field(repr=False)  # None = the default, "" = none
    mount_point: Path | None  # where to mount through FUSE; None = deviceless
    owner_uid: int  # the requesting user: the mount is owned by and usable by them
    options: dict[str, Any] = field(
        default_factory=dict
    )  # provider options from openras.toml [mpr.<provider>]


@dataclass(frozen=True)
class Credential:
    """A live connection of the caller: its name and credentials, which a provider may reuse to
    browse that connection's server (as Windows reuses a session's credentials)."""

    remote_name: str
    user: str
    password: str | None = field(repr=False)


@dataclass
class BrowseRequest:
    container: str  # the container's lpRemoteName: \\server, smb://host/, sftp://host/dir
    credentials: tuple[Credential, ...]  # the caller's connections through this provider
    owner_uid: int  # the requesting user
    options: dict[str, Any] = field(default_factory=dict)  # [mpr.<provider>]


MAX_BROWSE_ITEMS = 4096  # resources one container may list


def option_number(options: dict[str, Any], key: str, default: float) -> float:
    """A numeric provider option (``[mpr.<provider>] key``); ERROR_INVALID_PARAMETER if it is
    not one."""
    value = options.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER, f"option {key}={value!r} is not a number"
        ) from None


class ProviderConnection(ABC):
    """One authenticated session to a remote resource, mounted or deviceless."""

    provider: str
    remote_name: str
    user: str
    mount_point: Path | None

    @abstractmethod
    async def open_files(self) -> int:
        """How many files are open through this connection's mount (0 when deviceless)."""

    @abstractmethod
    async def close(self, force: bool) -> None:
        """Unmount and end the session. Open files and not force → RasError(ERROR_OPEN_FILES)."""

    @property
    def alive(self) -> bool:
        return True


class Provider(ABC):
    name: ClassVar[str]  # lpProvider value, e.g. "openras SMB"
    provider_type: ClassVar[int]  # WNNC_NET_* style number, informative

    @abstractmethod
    async def connect(self, request: ConnectRequest) -> ProviderConnection:
        """Authenticate (and mount when asked); RasError with the WNet code on failure."""

    async def browse(self, request: BrowseRequest) -> list[NETRESOURCE]:
        """The resources inside a container (WNetOpenEnum with RESOURCE_GLOBALNET). A name of
        another provider: RasError(WN_BAD_NETNAME); a resource that is no container:
        ERROR_NOT_CONTAINER."""
        raise RasError(WN.WN_NOT_SUPPORTED, f"{self.name} cannot browse {request.container}")

    def server_of(self, remote_name: str) -> str | None:
        """The container of the server behind one of this provider's remote names (listed at
        the provider's top level); None when the name is not this provider's."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release provider-wide resources at daemon shutdown."""
