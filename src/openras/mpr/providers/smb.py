"""The SMB provider ("openras SMB"): smbprotocol sessions for UNC and smb:// names.

smbprotocol is synchronous, so every call runs on the provider's own small thread pool
(never on the event loop, and never starving the loop's default executor). Each
connection owns a private smbclient connection cache — one TCP connection, one
authenticated session and one tree per WNet connection — so cancelling one never tears
down another user's session to the same server.

Options (``[mpr.smb]`` in openras.toml, passed as ``ConnectRequest.options``):

- ``port``: default TCP port when the name gives none (``\\\\host@PORT\\share`` or
  ``smb://host:PORT/share`` win over it); 445 otherwise.
- ``timeout``: seconds for the TCP connect (default 20).
- ``encrypt``: require SMB3 encryption (default false).

Error codes:

- STATUS_WRONG_PASSWORD → ERROR_INVALID_PASSWORD (86); STATUS_LOGON_FAILURE and the other
  account failures → ERROR_LOGON_FAILURE (1326). NTLM servers (Samba, Windows) answer a bad
  password with LOGON_FAILURE so as not to reveal that the user exists: 1326 is what
  callers will see in practice.
- STATUS_BAD_NETWORK_NAME on tree connect (and STATUS_NOT_FOUND from smbclient's DFS
  fallback), or a path under the share that does not exist or is not a directory →
  ERROR_BAD_NET_NAME (67).
- Access denied on tree connect (user not in ``valid users``) → ERROR_ACCESS_DENIED (5).
- Server unreachable (refused, unresolvable, timed out, not speaking SMB) →
  ERROR_BAD_NET_NAME (67): the nearest WNet code to Windows' ERROR_BAD_NETPATH (53), which is
  what ``net use`` reports for a server it cannot reach; the router treats 67 as "not mine"
  and keeps asking, which is also right when another provider might reach that name.
  ENETUNREACH / EHOSTUNREACH (no route: the local network is down) → ERROR_NO_NETWORK (1222).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import errno
import logging
import os
import socket
import stat as st
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import smbclient
from smbprotocol import exceptions as smbexc
from smbprotocol.file_info import FileAttributes
from smbprotocol.structure import DateTimeField
from smbprotocol.tree import TreeConnect

from ...codes import ErrorCode, RasError
from ...users import login_name
from ..netresource import (
    NETRESOURCE,
    RESOURCE_GLOBALNET,
    RESOURCEDISPLAYTYPE_SHARE,
    RESOURCETYPE_DISK,
    RESOURCETYPE_PRINT,
    RESOURCEUSAGE_CONNECTABLE,
)
from .base import (
    MAX_BROWSE_ITEMS,
    BrowseRequest,
    ConnectRequest,
    Credential,
    Provider,
    ProviderConnection,
    option_number,
)
from .names import SMB_PORT, RemoteName, parse_container, parse_for
from .remotefs import RemoteStat, os_error
from .smb_read import SmbReader
from .smb_shares import STYPE_DISKTREE, STYPE_MASK, STYPE_PRINTQ, list_shares

log = logging.getLogger(__name__)

WNNC_NET_SMB = 0x00020000  # WNNC_NET_LANMAN: the type Windows' SMB redirector reports


def resolve_port(name: RemoteName, options: dict[str, Any]) -> int:
    if name.port is not None:
        return name.port
    port = int(option_number(options, "port", SMB_PORT))
    if not 0 < port < 65536:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"option port={port}")
    return port


def _connect_error(exc: BaseException, where: str) -> RasError:
    """Map a failure while reaching, authenticating or tree-connecting to a WNet code."""
    if isinstance(exc, smbexc.WrongPassword):
        return RasError(ErrorCode.ERROR_INVALID_PASSWORD, f"{where}: wrong password")
    if isinstance(
        exc, smbexc.LogonFailure | smbexc.PasswordExpired | smbexc.SMBAuthenticationError
    ):
        return RasError(ErrorCode.ERROR_LOGON_FAILURE, f"{where}: {type(exc).__name__}")
    if isinstance(
        exc,
        smbexc.BadNetworkName
        | smbexc.NotFound
        | smbexc.ObjectNameNotFound
        | smbexc.ObjectPathNotFound,
    ):
        return RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{where}: no such share or path")
    if isinstance(exc, smbexc.AccessDenied):
        return RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{where}: access denied")
    if isinstance(exc, smbexc.SMBResponseException):
        return RasError(
            ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: {exc.status:#010x} {type(exc).__name__}"
        )
    cause = exc.__cause__ if isinstance(exc, ValueError) and exc.__cause__ else exc
    if isinstance(cause, OSError) and cause.errno in (
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.ENETDOWN,
    ):
        return RasError(ErrorCode.ERROR_NO_NETWORK, f"{where}: {cause.strerror}")
    if isinstance(cause, socket.gaierror):
        return RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{where}: cannot resolve the server name")
    if isinstance(cause, OSError | smbexc.SMBException | ValueError | TimeoutError):
        return RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{where}: cannot reach the server: {cause}")
    return RasError(ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: {type(exc).__name__}: {exc}")


# NTSTATUS → errno for the statuses smbclient leaves without one (SMBOSError errno 0).
_NTSTATUS_ERRNO = {
    0xC0000022: errno.EACCES,  # ACCESS_DENIED
    0xC0000121: errno.EACCES,  # CANNOT_DELETE
    0xC0000043: errno.EBUSY,  # SHARING_VIOLATION
    0xC0000101: errno.ENOTEMPTY,  # DIRECTORY_NOT_EMPTY
    0xC0000035: errno.EEXIST,  # OBJECT_NAME_COLLISION
    0xC000007F: errno.ENOSPC,  # DISK_FULL
    0xC00000BA: errno.EISDIR,  # FILE_IS_A_DIRECTORY
    0xC0000103: errno.ENOTDIR,  # NOT_A_DIRECTORY
    0xC0000056: errno.ENOENT,  # DELETE_PENDING
    0xC0000034: errno.ENOENT,  # OBJECT_NAME_NOT_FOUND
    0xC000003A: errno.ENOENT,  # OBJECT_PATH_NOT_FOUND
    0xC0000033: errno.EINVAL,  # OBJECT_NAME_INVALID
    0xC00000BB: errno.ENOTSUP,  # NOT_SUPPORTED
}


def _fs_error(exc: BaseException, path: str) -> OSError:
    """Map an smbprotocol failure during file operations to an errno for FUSE."""
    if isinstance(exc, OSError) and exc.errno:  # SMBOSError usually carries the errno already
        return OSError(exc.errno, os.strerror(exc.errno), path)
    status = getattr(exc, "ntstatus", None) or getattr(exc, "status", None)
    if isinstance(status, int) and status in _NTSTATUS_ERRNO:
        return os_error(_NTSTATUS_ERRNO[status], path)
    if isinstance(exc, smbexc.ObjectNameNotFound | smbexc.ObjectPathNotFound | smbexc.NotFound):
        return os_error(errno.ENOENT, path)
    if isinstance(exc, smbexc.AccessDenied):
        return os_error(errno.EACCES, path)
    if isinstance(exc, smbexc.SMBConnectionClosed):
        return os_error(errno.ENOTCONN, path)
    return os_error(errno.EIO, path)


def _stat_of(result: Any) -> RemoteStat:
    is_dir = st.S_ISDIR(result.st_mode)
    return RemoteStat(
        is_dir=is_dir,
        size=0 if is_dir else int(result.st_size),
        mode=st.S_IMODE(result.st_mode),
        atime_ns=int(result.st_atime_ns),
        mtime_ns=int(result.st_mtime_ns),
        ctime_ns=int(result.st_chgtime_ns),
        nlink=2 if is_dir else max(1, int(result.st_nlink)),
    )


def _ns(value: Any) -> int:
    """A FILETIME (int, 100 ns since 1601) or datetime from smbprotocol → ns since the epoch."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000
    return max(0, (int(value) - DateTimeField.EPOCH_FILETIME) * 100)


def _dir_stat(info: Any) -> RemoteStat:
    attrs = int(info.file_attributes)
    is_dir = bool(attrs & FileAttributes.FILE_ATTRIBUTE_DIRECTORY)
    mode = 0o444 if attrs & FileAttributes.FILE_ATTRIBUTE_READONLY else 0o666
    return RemoteStat(
        is_dir=is_dir,
        size=0 if is_dir else int(info.end_of_file),
        mode=mode | (0o111 if is_dir else 0),
        atime_ns=_ns(info.last_access_time),
        mtime_ns=_ns(info.last_write_time),
        ctime_ns=_ns(info.change_time),
        nlink=2 if is_dir else 1,
    )


class SmbFile:
    """An open SMB file; reads and writes at explicit offsets (FUSE gives them)."""

    def __init__(self, raw: Any, path: str) -> None:
        self.raw = raw
        self.path = path
        self._reader = SmbReader(raw.fd)  # sequential reads keep several requests in flight

    def read(self, offset: int, size: int) -> bytes:
        try:
            return self._reader.read(offset, size)
        except Exception as exc:
            self._reader.drop()
            raise _fs_error(exc, self.path) from None

    def write(self, offset: int, data: bytes) -> int:
        self._reader.drop()  # the read-ahead may now be stale
        try:
            self.raw.seek(offset)
            return int(self.raw.write(data))
        except Exception as exc:
            raise _fs_error(exc, self.path) from None

    def truncate(self, length: int) -> None:
        self._reader.drop()
        try:
            self.raw.truncate(length)
        except Exception as exc:
            raise _fs_error(exc, self.path) from None

    def flush(self) -> None:
        try:
            self.raw.flush()
        except Exception as exc:
            raise _fs_error(exc, self.path) from None

    def close(self) -> None:
        try:
            self._reader.drop()
            self.raw.close()
        except Exception as exc:
            raise _fs_error(exc, self.path) from None


@dataclass
class SmbSession:
    """A synchronous authenticated session + tree to one share (also a RemoteFS for FUSE)."""

    name: RemoteName
    user: str
    password: str = field(repr=False)
    port: int = SMB_PORT
    timeout: float = 20.0
    encrypt: bool = False
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    tree: TreeConnect | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """For the mount child (sent over its pipe, never in argv or the environment)."""
        return {
            "text": self.name.text,
            "user": self.user,
            "password": self.password,
            "port": self.port,
            "timeout": self.timeout,
            "encrypt": self.encrypt,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SmbSession:
        return cls(
            name=parse_for(data["text"], "smb"),
            user=data["user"],
            password=data["password"],
            port=int(data["port"]),
            timeout=float(data["timeout"]),
            encrypt=bool(data["encrypt"]),
        )

    def _kwargs(self) -> dict[str, Any]:
        return {
            "username": self.user,
            "password": self.password,
            "port": self.port,
            "connection_cache": self.cache,
            "connection_timeout": self.timeout,
        }

    def connect(self) -> None:
        where = self.name.unc(with_path=False)
        try:
            session = smbclient.register_session(
                self.name.host,
                username=self.user,
                password=self.password,
                port=self.port,
                encrypt=self.encrypt or None,
                connection_timeout=self.timeout,
                connection_cache=self.cache,
                auth_protocol="ntlm",
            )
            # An explicit TreeConnect: smbclient's get_smb_tree retries a missing share as a DFS
            # path and turns BadNetworkName into a less telling NotFound.
            tree = TreeConnect(session, self.name.unc(with_path=False))
            tree.connect()
            self.tree = tree
            if self.name.path:
                info = self.stat("/")
                if not info.is_dir:
                    raise RasError(
                        ErrorCode.ERROR_BAD_NET_NAME, f"{self.name.unc()}: not a directory"
                    )
        except RasError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise RasError(
                    ErrorCode.ERROR_BAD_NET_NAME, f"{self.name.unc()}: no such directory"
                ) from None
            raise _connect_error(exc, where) from None
        except Exception as exc:
            self.close()
            raise _connect_error(exc, where) from None

    def close(self) -> None:
        # Disconnecting the connection logs the session off and closes the socket.
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self.cache)
        self.tree = None

    @property
    def alive(self) -> bool:
        return self.tree is not None and any(c.transport.connected for c in self.cache.values())

    # --- RemoteFS ---------------------------------------------------------------------

    def _unc(self, path: str) -> str:
        parts = [p for p in (self.name.path + "/" + path).split("/") if p]
        return self.name.unc(with_path=False) + ("\\" + "\\".join(parts) if parts else "")

    def stat(self, path: str) -> RemoteStat:
        try:
            return _stat_of(smbclient.stat(self._unc(path), **self._kwargs()))
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def listdir(self, path: str) -> list[tuple[str, RemoteStat]]:
        out: list[tuple[str, RemoteStat]] = []
        try:
            for entry in smbclient.scandir(self._unc(path), **self._kwargs()):
                if entry.name in (".", ".."):
                    continue
                # The directory listing already carries the attributes: no extra round trip.
                out.append((entry.name, _dir_stat(entry.smb_info)))
        except Exception as exc:
            raise _fs_error(exc, path) from None
        return out

    def open(self, path: str, flags: int, mode: int, create: bool) -> SmbFile:
        access = flags & os.O_ACCMODE
        if create:
            smb_mode = "xb" if flags & os.O_EXCL else ("wb" if flags & os.O_TRUNC else "ab")
            smb_mode = smb_mode[0] + "+b"
        else:
            smb_mode = "rb" if access == os.O_RDONLY else "r+b"
        try:
            # share_access="rwd": other handles (other processes on this mount, other clients)
            # may keep opening the file, as they could on a local file system.
            raw = smbclient.open_file(
                self._unc(path), mode=smb_mode, buffering=0, share_access="rwd", **self._kwargs()
            )
        except Exception as exc:
            raise _fs_error(exc, path) from None
        file = SmbFile(raw, path)
        if flags & os.O_TRUNC and not create:
            file.truncate(0)
        return file

    def unlink(self, path: str) -> None:
        try:
            smbclient.remove(self._unc(path), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def mkdir(self, path: str, mode: int) -> None:
        try:
            smbclient.mkdir(self._unc(path), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def rmdir(self, path: str) -> None:
        try:
            smbclient.rmdir(self._unc(path), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def rename(self, old: str, new: str) -> None:
        try:
            # POSIX rename replaces an existing file.
            smbclient.replace(self._unc(old), self._unc(new), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, old) from None

    def truncate(self, path: str, length: int) -> None:
        try:
            # smbclient.truncate opens without sharing: it would fail while the file is open.
            with smbclient.open_file(
                self._unc(path), mode="r+b", buffering=0, share_access="rwd", **self._kwargs()
            ) as f:
                f.truncate(length)
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def utime(self, path: str, atime_ns: int, mtime_ns: int) -> None:
        try:
            smbclient.utime(self._unc(path), ns=(atime_ns, mtime_ns), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, path) from None

    def statvfs(self) -> dict[str, int]:
        try:
            vol = smbclient.stat_volume(self._unc("/"), **self._kwargs())
        except Exception as exc:
            raise _fs_error(exc, "/") from None
        bsize = 4096
        return {
            "f_bsize": bsize,
            "f_frsize": bsize,
            "f_blocks": vol.total_size // bsize,
            "f_bfree": vol.actual_available_size // bsize,
            "f_bavail": vol.caller_available_size // bsize,
            "f_namemax": 255,
        }


def session_for(request: ConnectRequest) -> SmbSession:
    """Build (not yet connect) the session a request asks for. Declines foreign names (67)."""
    name = parse_for(request.remote_name, "smb")
    user = request.user or name.user or login_name(request.owner_uid)
    if not user:
        raise RasError(ErrorCode.ERROR_BAD_USERNAME, f"no user name for uid {request.owner_uid}")
    return SmbSession(
        name=name,
        user=user,
        password=request.password or "",
        port=resolve_port(name, request.options),
        timeout=option_number(request.options, "timeout", 20.0),
        encrypt=bool(request.options.get("encrypt", False)),
    )


class SmbConnection(ProviderConnection):
    """A deviceless SMB connection: the session and tree stay up until close()."""

    def __init__(self, provider: SmbProvider, session: SmbSession, remote_name: str) -> None:
        self.provider = SmbProvider.name
        self._owner = provider
        self.session = session
        self.remote_name = remote_name
        self.user = session.user
        self.mount_point: Path | None = None
        self.connected_at = time.time()

    def __repr__(self) -> str:
        return f"<SmbConnection {self.remote_name!r} user={self.user!r}>"

    async def open_files(self) -> int:
        return 0

    async def close(self, force: bool) -> None:
        await self._owner.run(self.session.close)

    @property
    def alive(self) -> bool:
        return self.session.alive


class SmbProvider(Provider):
    name: ClassVar[str] = "openras SMB"
    provider_type: ClassVar[int] = WNNC_NET_SMB

    def __init__(self, max_workers: int = 4) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="openras-smb"
        )

    async def run(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def connect(self, request: ConnectRequest) -> ProviderConnection:
        session = await asyncio.to_thread(session_for, request)  # a default user is an NSS look-up
        if request.mount_point is not None:
            from ..mount import mount

            return await mount(
                self.name, "smb", session.name, session.user, session.to_json(), request
            )
        started = time.monotonic()
        await self.run(session.connect)
        log.info(
            "SMB %s as %s connected in %.3f s",
            session.name.unc(),
            session.user,
            time.monotonic() - started,
        )
        return SmbConnection(self, session, request.remote_name)

    def server_of(self, remote_name: str) -> str | None:
        try:
            name = parse_container(remote_name, "smb")
        except RasError:
            return None
        host = f"[{name.host}]" if ":" in name.host else name.host
        if name.text.lower().startswith("smb://"):
            return f"smb://{host}" + (f":{name.port}" if name.port else "")
        return rf"\\{host}" + (f"@{name.port}" if name.port else "")

    def _credential(self, server: RemoteName, request: BrowseRequest) -> Credential | None:
        """The caller's own connection to the same server and port, if any."""
        port = resolve_port(server, request.options)
        for cred in request.credentials:
            try:
                name = parse_for(cred.remote_name, "smb")
            except RasError:
                continue
            if name.host.casefold() == server.host.casefold() and (
                resolve_port(name, request.options) == port
            ):
                return cred
        return None

    async def browse(self, request: BrowseRequest) -> list[NETRESOURCE]:
        """A server's shares (NetShareEnum), as Windows lists them: hidden ``$`` and special
        shares left out, disk shares and print queues only."""
        server = parse_container(request.container, "smb")
        if server.share:
            raise RasError(ErrorCode.ERROR_NOT_CONTAINER, f"{request.container} is a share")
        cred = self._credential(server, request)
        # No connection to that server: an anonymous session, as ``net view`` tries.
        user, password = (cred.user, cred.password or "") if cred else ("", "")
        shares = await self.run(
            list_shares,
            server.host,
            resolve_port(server, request.options),
            user,
            password,
            option_number(request.options, "timeout", 20.0),
        )
        base = self.server_of(request.container) or request.container
        sep = "/" if base.lower().startswith("smb://") else "\\"
        items = []
        for share in shares:
            kind = share.type & STYPE_MASK
            if share.hidden or kind not in (STYPE_DISKTREE, STYPE_PRINTQ):
                continue
            items.append(
                NETRESOURCE(
                    RESOURCE_GLOBALNET,
                    RESOURCETYPE_DISK if kind == STYPE_DISKTREE else RESOURCETYPE_PRINT,
                    RESOURCEDISPLAYTYPE_SHARE,
                    RESOURCEUSAGE_CONNECTABLE,
                    None,
                    base + sep + share.name,
                    share.remark or None,
                    self.name,
                )
            )
        return items[:MAX_BROWSE_ITEMS]

    async def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._executor.shutdown(wait=False, cancel_futures=True)
