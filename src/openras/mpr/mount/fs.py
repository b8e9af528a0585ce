"""FUSE operations (mfusepy) over a provider's blocking RemoteFS.

Runs in the mount child only. FUSE runs single-threaded (``nothreads``): smbprotocol and
the SFTP bridge are then never called concurrently, and the count of open handles — the
only state another thread (the control channel) reads — is a plain dict's length.

Ownership: every file shows the mount owner's uid/gid and only the owner's permission bits
of the remote mode. With ``default_permissions`` the kernel then lets only the owner (and
root) in, even when the mount has ``allow_other`` — a mapped resource is that user's, as a
Windows drive mapping belongs to one logon session.
"""

from __future__ import annotations

import errno
import logging
import os
import stat as st
import threading
import time
from collections.abc import Callable
from typing import Any

import mfusepy

from ..providers.remotefs import RemoteFile, RemoteFS, RemoteStat

log = logging.getLogger(__name__)

ATTR_CACHE_SECONDS = 1.0  # as the kernel's own attr_timeout: `ls -l` costs one listing, not N stats


class RemoteOperations(mfusepy.Operations):
    use_ns = True  # utimens gets nanoseconds (mfusepy warns otherwise)

    def __init__(
        self, fs: RemoteFS, uid: int, gid: int, on_init: Callable[[], None] | None = None
    ) -> None:
        self.fs = fs
        self.uid = uid
        self.gid = gid
        self.on_init = on_init
        self.handles: dict[int, RemoteFile] = {}
        self._next_fh = 1
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, RemoteStat]] = {}

    # --- bookkeeping ---------------------------------------------------------------------

    @property
    def open_count(self) -> int:
        return len(self.handles)

    def _add_handle(self, file: RemoteFile) -> int:
        with self._lock:
            fh = self._next_fh
            self._next_fh += 1
            self.handles[fh] = file
        return fh

    def _handle(self, fh: int | None) -> RemoteFile:
        file = self.handles.get(fh or 0)
        if file is None:
            raise mfusepy.FuseOSError(errno.EBADF)
        return file

    def _forget(self, path: str | None = None) -> None:
        # Any change may alter a parent's listing or a file's size: drop everything (cheap).
        self._cache.clear()

    def _stat(self, path: str) -> RemoteStat:
        cached = self._cache.get(path)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        info = self.fs.stat(path)
        self._cache[path] = (time.monotonic() + ATTR_CACHE_SECONDS, info)
        return info

    def _attrs(self, info: RemoteStat) -> dict[str, Any]:
        perm = info.mode & 0o700 or (0o700 if info.is_dir else 0o600)
        return {
            "st_mode": (st.S_IFDIR if info.is_dir else st.S_IFREG) | perm,
            "st_nlink": info.nlink,
            "st_size": info.size,
            "st_uid": self.uid,
            "st_gid": self.gid,
            "st_atime": info.atime_ns,
            "st_mtime": info.mtime_ns,
            "st_ctime": info.ctime_ns,
            "st_blksize": 131072,
            "st_blocks": (info.size + 511) // 512,
        }

    # --- FUSE operations -----------------------------------------------------------------

    def init(self, path: str) -> None:
        if self.on_init is not None:
            self.on_init()

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        return self._attrs(self._stat(path))

    def readdir(self, path: str, fh: int) -> list[Any]:
        entries: list[Any] = [".", ".."]
        expiry = time.monotonic() + ATTR_CACHE_SECONDS
        base = path.rstrip("/")
        for name, info in self.fs.listdir(path):
            self._cache[f"{base}/{name}"] = (expiry, info)
            entries.append((name, self._attrs(info), 0))
        return entries

    def open(self, path: str, flags: int) -> int:
        self._forget()
        return self._add_handle(self.fs.open(path, flags, 0, create=False))

    def create(self, path: str, mode: int, flags: int = os.O_RDWR) -> int:
        self._forget()
        return self._add_handle(self.fs.open(path, flags | os.O_CREAT, mode, create=True))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self._handle(fh).read(offset, size)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._cache.pop(path, None)
        return self._handle(fh).write(offset, data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._forget()
        file = self.handles.get(fh or 0)
        if file is None:
            # mfusepy does not pass the handle of ftruncate() under libfuse 3: use an open
            # handle of the same file when there is one (servers may refuse a second opener).
            file = next(
                (f for f in self.handles.values() if getattr(f, "path", None) == path), None
            )
        if file is not None:
            file.truncate(length)
        else:
            self.fs.truncate(path, length)
        return 0

    def flush(self, path: str, fh: int) -> int:
        file = self.handles.get(fh)
        if file is not None:
            file.flush()
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        return self.flush(path, fh)

    def release(self, path: str, fh: int) -> int:
        with self._lock:
            file = self.handles.pop(fh, None)
        self._forget()
        if file is not None:
            file.close()
        return 0

    def unlink(self, path: str) -> int:
        self._forget()
        self.fs.unlink(path)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._forget()
        self.fs.mkdir(path, mode)
        return 0

    def rmdir(self, path: str) -> int:
        self._forget()
        self.fs.rmdir(path)
        return 0

    def rename(self, old: str, new: str) -> int:
        self._forget()
        self.fs.rename(old, new)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        self._forget()
        if times is None:
            now = time.time_ns()
            times = (now, now)
        self.fs.utime(path, int(times[0]), int(times[1]))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        # Modes are not mapped back to the server (SMB has none): accept so `cp -p` works.
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        if uid not in (-1, self.uid, 0xFFFFFFFF) or gid not in (-1, self.gid, 0xFFFFFFFF):
            raise mfusepy.FuseOSError(errno.EPERM)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        return self.fs.statvfs()

    def destroy(self, path: str) -> None:
        for fh in list(self.handles):
            file = self.handles.pop(fh)
            try:
                file.close()
            except OSError as exc:
                log.debug("closing %s at unmount: %s", fh, exc)
