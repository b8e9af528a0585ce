"""The SFTP provider ("openras SFTP"): asyncssh connections for sftp:// names.

Host keys are always checked against a known_hosts file; there is no "accept new key"
mode. Options (``[mpr.sftp]`` in openras.toml, passed as ``ConnectRequest.options``):

- ``known_hosts``: path of the known_hosts file (default ``~/.ssh/known_hosts``); ``~`` and
  relative paths are the mapping user's, and the file is read as that user (hostkeys.py).
- ``key``: a private key file to try before the password (optional).
- ``port``: default port when the name gives none (22).
- ``timeout``: seconds for TCP connect plus SSH login (default 20).

User name: ``ConnectRequest.user``, else the user in the URL, else the owner's login name.

Error codes:

- Host key unknown or changed (or no known_hosts file) → ERROR_EXTENDED_ERROR (1208), with
  the reason as the provider's extended-error text and code (WNetGetLastError: 857 for a key
  not trusted, with its fingerprint and ``openras net trust NAME``; 864 for no file). It is
  the provider-specific failure Windows has that code for; 67 would make the router try other
  providers as if the name were not ours, and 1326/86 would blame the user's credentials when it is
  the server that failed to prove who it is.
- Authentication refused → ERROR_LOGON_FAILURE (1326), not 86: SSH answers an unknown user
  and a wrong password the same way, so "user name or password is incorrect" is the honest
  message.
- The path does not exist or is not a directory → ERROR_BAD_NET_NAME (67); the server refuses
  access to it → ERROR_ACCESS_DENIED (5).
- Server unreachable → ERROR_BAD_NET_NAME (67), or ERROR_NO_NETWORK (1222) when there is no
  route (as for SMB; see smb.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import posixpath
import shlex
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

import asyncssh

from ... import hostkeys
from ...codes import ErrorCode, RasError
from ...timeouts import within
from ...users import is_privileged, login_name
from ..netresource import (
    NETRESOURCE,
    RESOURCE_GLOBALNET,
    RESOURCEDISPLAYTYPE_DIRECTORY,
    RESOURCETYPE_DISK,
    RESOURCEUSAGE_CONNECTABLE,
    RESOURCEUSAGE_CONTAINER,
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
from .names import SSH_PORT, RemoteName, parse_for
from .remotefs import RemoteStat, os_error

log = logging.getLogger(__name__)

WNNC_NET_SFTP = 0x00500000  # not a Windows-assigned number: openras' own, informative only

T = TypeVar("T")

_FXF_READ, _FXF_WRITE, _FXF_APPEND, _FXF_CREAT, _FXF_TRUNC, _FXF_EXCL = 1, 2, 4, 8, 0x10, 0x20


class SftpTarget:
    """Everything needed to open an SFTP session, resolved from a ConnectRequest."""

    def __init__(
        self,
        name: RemoteName,
        user: str,
        password: str,
        port: int,
        known_hosts: str,
        key: str | None,
        timeout: float,
        known_hosts_text: str | None = None,
        owner_uid: int | None = None,
    ) -> None:
        self.name = name
        self.user = user
        self._password = password
        self.port = port
        self.known_hosts = known_hosts
        self.key = key
        self.timeout = timeout
        self.trust = f"openras net trust {shlex.quote(name.text)}"
        if known_hosts_text is None:
            # Read once, as the user who maps (blocking: from_request runs in a thread); the
            # mount child gets the text, never a path to read with the daemon's rights.
            uid = os.geteuid() if owner_uid is None else owner_uid
            try:
                data = hostkeys.load(known_hosts, uid, self.trust)
            except RasError as exc:
                raise RasError(ErrorCode.ERROR_EXTENDED_ERROR, exc.detail, exc.code) from None
            known_hosts_text = data.decode("utf-8", "replace")
        self.known_hosts_text = known_hosts_text

    def __repr__(self) -> str:
        return f"<SftpTarget {self.user}@{self.name.host}:{self.port} {self.name.path}>"

    def to_json(self) -> dict[str, Any]:
        """For the mount child (sent over its pipe, never in argv or the environment)."""
        return {
            "text": self.name.text,
            "user": self.user,
            "password": self._password,
            "port": self.port,
            "known_hosts": self.known_hosts,
            "known_hosts_text": self.known_hosts_text,
            "key": self.key,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SftpTarget:
        return cls(
            parse_for(data["text"], "sftp"),
            data["user"],
            data["password"],
            int(data["port"]),
            data["known_hosts"],
            data.get("key"),
            float(data["timeout"]),
            data.get("known_hosts_text"),
        )

    @classmethod
    def from_request(cls, request: ConnectRequest) -> SftpTarget:
        name = parse_for(request.remote_name, "sftp")
        options = request.options
        user = request.user or name.user or login_name(request.owner_uid)
        if not user:
            raise RasError(
                ErrorCode.ERROR_BAD_USERNAME, f"no user name for uid {request.owner_uid}"
            )
        port = name.port or int(option_number(options, "port", SSH_PORT))
        try:
            known_hosts = hostkeys.resolve_for(
                str(options.get("known_hosts") or ""), request.owner_uid
            )
        except RasError as exc:
            raise RasError(ErrorCode.ERROR_EXTENDED_ERROR, exc.detail, exc.code) from None
        # [mpr.sftp] key is the daemon's own key: lending it to every local user would let any of
        # them log in as whoever that key opens. Only root (or the daemon's user) gets it.
        key = options.get("key") if is_privileged(request.owner_uid) else None
        return cls(
            name,
            user,
            request.password or "",
            port,
            known_hosts,
            str(key) if key else None,
            option_number(options, "timeout", 20.0),
            owner_uid=request.owner_uid,
        )

    async def open(self) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient, str]:
        """Connect, log in, start SFTP and resolve the root directory; RasError on failure."""
        where = f"{self.user}@{self.name.host}:{self.port}"
        keys: list[asyncssh.SSHKey] = []
        if self.key:
            try:
                keys.append(asyncssh.read_private_key(self.key))
            except (OSError, asyncssh.KeyImportError) as exc:
                raise RasError(
                    ErrorCode.ERROR_INVALID_PARAMETER, f"key {self.key}: {exc}"
                ) from None
        try:
            conn = await within(
                asyncssh.connect(
                    self.name.host,
                    self.port,
                    username=self.user,
                    password=self._password or None,
                    client_keys=keys or None,
                    known_hosts=hostkeys.parse(
                        self.known_hosts_text.encode("utf-8"), self.known_hosts
                    ),
                    agent_path=None,
                    config=None,
                    host_based_auth=False,
                    kbdint_auth=False,
                    gss_auth=False,
                    ignore_encrypted=True,
                    preferred_auth="publickey,password",
                    login_timeout=self.timeout,
                    connect_timeout=self.timeout,
                ),
                self.timeout + 5,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            offered = await hostkeys.server_key(self.name.host, self.port, self.timeout)
            refusal = hostkeys.untrusted(
                self.name.host, self.port, self.known_hosts, offered, exc.reason, self.trust
            )
            raise RasError(
                ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: {refusal.detail}", refusal.code
            ) from None
        except asyncssh.PermissionDenied:
            raise RasError(
                ErrorCode.ERROR_LOGON_FAILURE, f"{where}: authentication refused"
            ) from None
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            if isinstance(exc, OSError) and exc.errno in (
                errno.ENETUNREACH,
                errno.EHOSTUNREACH,
                errno.ENETDOWN,
            ):
                raise RasError(ErrorCode.ERROR_NO_NETWORK, f"{where}: {exc.strerror}") from None
            raise RasError(
                ErrorCode.ERROR_BAD_NET_NAME, f"{where}: cannot reach the server: {exc}"
            ) from None
        try:
            sftp = await within(conn.start_sftp_client(), self.timeout)
            root = await self._root(sftp)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, RasError):
                raise
            if isinstance(exc, asyncssh.SFTPPermissionDenied):
                raise RasError(
                    ErrorCode.ERROR_ACCESS_DENIED, f"{self.name.text}: {exc.reason}"
                ) from None
            if isinstance(exc, asyncssh.SFTPError):
                raise RasError(
                    ErrorCode.ERROR_BAD_NET_NAME, f"{self.name.text}: {exc.reason}"
                ) from None
            if isinstance(exc, asyncssh.Error | OSError | TimeoutError):
                raise RasError(
                    ErrorCode.ERROR_EXTENDED_ERROR, f"{where}: SFTP unavailable: {exc}"
                ) from None
            raise
        return conn, sftp, root

    async def _root(self, sftp: asyncssh.SFTPClient) -> str:
        path = self.name.path
        if path == "~" or path.startswith("~/"):
            home = await sftp.realpath(".")
            path = posixpath.join(home, path[2:]) if path != "~" else home
        attrs = await sftp.stat(path)
        if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise RasError(ErrorCode.ERROR_BAD_NET_NAME, f"{self.name.text}: not a directory")
        return path.rstrip("/") or "/"


class SftpConnection(ProviderConnection):
    """A deviceless SFTP connection: the SSH connection and SFTP channel stay up until close()."""

    def __init__(
        self,
        target: SftpTarget,
        conn: asyncssh.SSHClientConnection,
        sftp: asyncssh.SFTPClient,
        root: str,
        remote_name: str,
    ) -> None:
        self.provider = SftpProvider.name
        self.target = target
        self.conn = conn
        self.sftp = sftp
        self.root = root
        self.remote_name = remote_name
        self.user = target.user
        self.mount_point: Path | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<SftpConnection {self.remote_name!r} user={self.user!r}>"

    async def open_files(self) -> int:
        return 0

    async def close(self, force: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self.sftp.exit()
        self.conn.close()
        await self.conn.wait_closed()

    @property
    def alive(self) -> bool:
        return not self._closed and not self.conn.is_closed()


class SftpProvider(Provider):
    name: ClassVar[str] = "openras SFTP"
    provider_type: ClassVar[int] = WNNC_NET_SFTP

    async def connect(self, request: ConnectRequest) -> ProviderConnection:
        target = await asyncio.to_thread(
            SftpTarget.from_request, request
        )  # NSS look-up for a default user
        if request.mount_point is not None:
            from ..mount import mount

            return await mount(
                self.name, "sftp", target.name, target.user, target.to_json(), request
            )
        started = time.monotonic()
        conn, sftp, root = await target.open()
        log.info("SFTP %r connected in %.3f s", target, time.monotonic() - started)
        return SftpConnection(target, conn, sftp, root, request.remote_name)

    def server_of(self, remote_name: str) -> str | None:
        try:
            parse_for(remote_name, "sftp")
        except RasError:
            return None
        return f"sftp://{urlsplit(remote_name.strip()).netloc}/"

    def _credential(self, name: RemoteName, request: BrowseRequest) -> Credential | None:
        """The caller's own connection to the same server, port and user, if any."""
        for cred in request.credentials:
            try:
                other = parse_for(cred.remote_name, "sftp")
            except RasError:
                continue
            if (
                other.host.casefold() == name.host.casefold()
                and (other.port or SSH_PORT) == (name.port or SSH_PORT)
                and (name.user is None or name.user == cred.user)
            ):
                return cred
        return None

    async def browse(self, request: BrowseRequest) -> list[NETRESOURCE]:
        """The directories under the container's path (dot-directories are hidden, as ``$``
        shares are), each connectable and itself a container."""
        name = parse_for(request.container, "sftp")
        cred = self._credential(name, request)
        connect = ConnectRequest(
            remote_name=request.container,
            user=cred.user if cred else None,
            password=cred.password if cred else None,
            mount_point=None,
            owner_uid=request.owner_uid,
            options=request.options,
        )
        target = await asyncio.to_thread(SftpTarget.from_request, connect)
        conn, sftp, root = await target.open()
        try:
            entries = await sftp.readdir(root)
        except asyncssh.SFTPError as exc:
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{request.container}: {exc}") from None
        finally:
            sftp.exit()
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()
        text = request.container.strip().rstrip("/")
        if urlsplit(text).path in ("", "/"):
            text += "/~"  # the empty path is the home directory (names.py)
        names = sorted(
            str(e.filename)
            for e in entries
            if e.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY
            and not str(e.filename).startswith(".")
        )
        return [
            NETRESOURCE(
                RESOURCE_GLOBALNET,
                RESOURCETYPE_DISK,
                RESOURCEDISPLAYTYPE_DIRECTORY,
                RESOURCEUSAGE_CONNECTABLE | RESOURCEUSAGE_CONTAINER,
                None,
                f"{text}/{quote(n, safe='')}",
                None,
                self.name,
            )
            for n in names[:MAX_BROWSE_ITEMS]
        ]


# --- the synchronous file system for the mount child ---------------------------------------


def _sftp_errno(exc: BaseException) -> int:
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return errno.ENOENT
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return errno.EACCES
    if isinstance(exc, asyncssh.SFTPFileAlreadyExists):
        return errno.EEXIST
    if isinstance(exc, asyncssh.SFTPDirNotEmpty):
        return errno.ENOTEMPTY
    if isinstance(exc, asyncssh.SFTPNotADirectory):
        return errno.ENOTDIR
    if isinstance(exc, asyncssh.SFTPFileIsADirectory):
        return errno.EISDIR
    if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
        return errno.ENOSPC
    if isinstance(exc, asyncssh.SFTPOpUnsupported):
        return errno.ENOTSUP
    if isinstance(
        exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection | asyncssh.ConnectionLost
    ):
        return errno.ENOTCONN
    return errno.EIO


def _stat_of(attrs: asyncssh.SFTPAttrs) -> RemoteStat:
    def ns(seconds: float | None, nanos: int | None) -> int:
        return int(seconds or 0) * 1_000_000_000 + int(nanos or 0)

    is_dir = attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY
    mtime = ns(attrs.mtime, attrs.mtime_ns)
    return RemoteStat(
        is_dir=is_dir,
        size=int(attrs.size or 0),
        mode=(attrs.permissions or 0) & 0o7777,
        atime_ns=ns(attrs.atime, attrs.atime_ns),
        mtime_ns=mtime,
        ctime_ns=ns(attrs.ctime, attrs.ctime_ns) or mtime,
        nlink=int(attrs.nlink or (2 if is_dir else 1)),
    )


class SftpFile:
    def __init__(self, fs: SftpFS, handle: asyncssh.SFTPClientFile, path: str) -> None:
        self.fs = fs
        self.handle = handle
        self.path = path

    def read(self, offset: int, size: int) -> bytes:
        data = self.fs.call(self.handle.read(size, offset), self.path)
        # Only a handle opened with an encoding reads text; ours never are.
        return data.encode() if isinstance(data, str) else bytes(data or b"")

    def write(self, offset: int, data: bytes) -> int:
        self.fs.call(self.handle.write(data, offset), self.path)
        return len(data)

    def truncate(self, length: int) -> None:
        self.fs.call(self.handle.truncate(length), self.path)

    def flush(self) -> None:
        """SFTP writes are acknowledged by the server; nothing is buffered here."""

    def close(self) -> None:
        self.fs.call(self.handle.close(), self.path)


class SftpFS:
    """A blocking RemoteFS over asyncssh: the SSH connection lives on a private event loop
    thread."""

    def __init__(self, target: SftpTarget) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="openras-sftp", daemon=True
        )
        self._thread.start()
        self.conn: asyncssh.SSHClientConnection | None = None
        self.sftp: asyncssh.SFTPClient | None = None
        self.root = "/"

    def _run(self, aw: Awaitable[T]) -> T:
        async def wait() -> T:  # asyncssh returns awaitable wrappers that are not coroutines
            return await aw

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result()

    def connect(self) -> None:
        self.conn, self.sftp, self.root = self._run(self.target.open())

    def call(self, coro: Awaitable[T], path: str) -> T:
        try:
            return self._run(coro)
        except (asyncssh.Error, asyncssh.SFTPError, OSError) as exc:
            raise os_error(
                exc.errno if isinstance(exc, OSError) and exc.errno else _sftp_errno(exc), path
            ) from None

    def _abs(self, path: str) -> str:
        return (
            posixpath.normpath(posixpath.join(self.root, path.lstrip("/")))
            if path.strip("/")
            else self.root
        )

    @property
    def _c(self) -> asyncssh.SFTPClient:
        if self.sftp is None:
            raise os_error(errno.ENOTCONN)
        return self.sftp

    def stat(self, path: str) -> RemoteStat:
        return _stat_of(self.call(self._c.stat(self._abs(path)), path))

    def listdir(self, path: str) -> list[tuple[str, RemoteStat]]:
        names = self.call(self._c.readdir(self._abs(path)), path)
        return [
            (str(n.filename), _stat_of(n.attrs)) for n in names if n.filename not in (".", "..")
        ]

    def open(self, path: str, flags: int, mode: int, create: bool) -> SftpFile:
        access = flags & os.O_ACCMODE
        pflags = (
            _FXF_READ
            if access == os.O_RDONLY
            else _FXF_WRITE
            if access == os.O_WRONLY
            else _FXF_READ | _FXF_WRITE
        )
        if create:
            pflags |= _FXF_CREAT | (_FXF_EXCL if flags & os.O_EXCL else 0)
        if flags & os.O_TRUNC:
            pflags |= _FXF_TRUNC
        attrs = asyncssh.SFTPAttrs(permissions=mode & 0o777) if create else asyncssh.SFTPAttrs()
        try:
            handle = self._run(self._c.open(self._abs(path), pflags, attrs, encoding=None))
        except asyncssh.SFTPFailure:
            # OpenSSH answers an O_EXCL create of an existing file with a bare FX_FAILURE.
            raise os_error(errno.EEXIST if flags & os.O_EXCL else errno.EIO, path) from None
        except (asyncssh.Error, asyncssh.SFTPError, OSError) as exc:
            raise os_error(_sftp_errno(exc), path) from None
        return SftpFile(self, handle, path)

    def unlink(self, path: str) -> None:
        self.call(self._c.remove(self._abs(path)), path)

    def mkdir(self, path: str, mode: int) -> None:
        try:
            self._run(self._c.mkdir(self._abs(path), asyncssh.SFTPAttrs(permissions=mode & 0o777)))
        except asyncssh.SFTPFailure:
            raise os_error(errno.EEXIST if self._exists(path) else errno.EIO, path) from None
        except (asyncssh.Error, asyncssh.SFTPError, OSError) as exc:
            raise os_error(_sftp_errno(exc), path) from None

    def _exists(self, path: str) -> bool:
        try:
            self.stat(path)
            return True
        except OSError:
            return False

    def rmdir(self, path: str) -> None:
        try:
            self._run(self._c.rmdir(self._abs(path)))
        except asyncssh.SFTPFailure:
            # OpenSSH's FX_FAILURE for rmdir is, in practice, "directory not empty".
            raise os_error(errno.ENOTEMPTY if self._exists(path) else errno.EIO, path) from None
        except (asyncssh.Error, asyncssh.SFTPError, OSError) as exc:
            raise os_error(_sftp_errno(exc), path) from None

    def rename(self, old: str, new: str) -> None:
        # POSIX rename semantics (replace the target) need OpenSSH's posix-rename extension.
        try:
            self._run(self._c.posix_rename(self._abs(old), self._abs(new)))
        except asyncssh.SFTPOpUnsupported:
            self.call(self._c.rename(self._abs(old), self._abs(new)), old)
        except (asyncssh.Error, asyncssh.SFTPError, OSError) as exc:
            raise os_error(_sftp_errno(exc), old) from None

    def truncate(self, path: str, length: int) -> None:
        self.call(self._c.truncate(self._abs(path), length), path)

    def utime(self, path: str, atime_ns: int, mtime_ns: int) -> None:
        self.call(self._c.utime(self._abs(path), ns=(atime_ns, mtime_ns)), path)

    def statvfs(self) -> dict[str, int]:
        try:
            v = self._run(self._c.statvfs(self.root))
        except (asyncssh.Error, asyncssh.SFTPError, OSError):
            return {"f_bsize": 4096, "f_frsize": 4096, "f_namemax": 255}
        return {
            "f_bsize": v.bsize,
            "f_frsize": v.frsize,
            "f_blocks": v.blocks,
            "f_bfree": v.bfree,
            "f_bavail": v.bavail,
            "f_files": v.files,
            "f_ffree": v.ffree,
            "f_favail": v.favail,
            "f_namemax": v.namemax,
        }

    def close(self) -> None:
        async def shut() -> None:
            if self.sftp is not None:
                self.sftp.exit()
            if self.conn is not None:
                self.conn.close()
                await self.conn.wait_closed()

        if self.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            except Exception as exc:  # closing is best effort: the process is about to go
                log.debug("SFTP close: %s", exc)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
