"""Mounting a provider connection on a local directory through FUSE (mfusepy).

Each mount is served by its own child process (``python -m openras.mpr.mount``, see
child.py): libfuse blocks and installs signal handlers, which must not happen inside the
asyncio daemon. The child gets the session parameters — password included — as JSON on a
socketpair, never in argv or the environment; it authenticates itself, mounts, and reports
``ready`` or a WNet error code on the same socket, which then carries ``open_files``
queries.

Mount points: a directory that does not exist is created (its parent must exist, else
ERROR_BAD_DEVICE = WN_BAD_LOCALNAME) and removed again at close; an existing one must be an
empty directory that is not already a mount point, else ERROR_ALREADY_ASSIGNED (85). When
the daemon runs as root for another user, that user must own the directory (or be allowed
to create it), else ERROR_ACCESS_DENIED; the mount child then runs as that user and
fusermount3 makes it the user's own mount (files owned by them, ``default_permissions``). A uid
without a passwd entry (fusermount3 needs a name) gets a root mount with ``allow_other``.

Closing: without force, open files (handles opened and not yet released through the
mount) → ERROR_OPEN_FILES (2401), and so does a busy mount (a process's working
directory inside it); otherwise ``fusermount3 -u``. Forced: ``fusermount3 -u -z`` (lazy:
processes still inside get errors from then on) and the child is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import re
import signal
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

from ...codes import ErrorCode, RasError
from ...timeouts import within
from ..providers.base import ConnectRequest, ProviderConnection
from ..providers.names import RemoteName
from .readahead import widen_read_ahead

log = logging.getLogger(__name__)

FUSERMOUNT = "fusermount3"
READY_MARGIN = 15.0  # seconds on top of the session time-out for the child to mount


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_points() -> set[str]:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            return {_unescape(line.split(" ")[4]) for line in f if line.count(" ") >= 5}
    except OSError:
        return set()


def is_mount_point(path: Path | str) -> bool:
    return os.path.realpath(path) in mount_points()


def _child_env() -> dict[str, str]:
    """The daemon's environment, with this copy of openras first on the child's path.

    The child starts in "/": a relative PYTHONPATH (a source checkout's ``src``) would make
    it import whatever other openras is installed instead of the daemon's own code.
    """
    root = str(Path(__file__).resolve().parents[3])
    rest = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, rest] if rest else [root])}


def _owner_gid(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid  # a uid without a passwd entry: its own number, as useradd would pick


def _has_name(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _may_create_in(parent: os.stat_result, uid: int) -> bool:
    if parent.st_uid == uid:
        return bool(parent.st_mode & stat.S_IWUSR)
    # A world-writable sticky directory such as /tmp: anyone may create (and own) entries.
    return bool(parent.st_mode & stat.S_IWOTH and parent.st_mode & stat.S_ISVTX)


def prepare_mount_point(mount_point: Path, owner_uid: int) -> tuple[Path, bool]:
    """Check or create the mount point; return (its real path, whether we created it)."""
    path = Path(os.path.abspath(mount_point))
    privileged = os.geteuid() == 0 and owner_uid != 0
    if path.is_symlink():
        raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{path} is a symbolic link")
    if path.exists():
        real = Path(os.path.realpath(path))
        if is_mount_point(real):
            raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{path} is already a mount point")
        if not real.is_dir():
            raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{path} is not a directory")
        try:
            if any(real.iterdir()):
                raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{path} is not empty")
        except PermissionError:
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{path} cannot be read") from None
        if privileged and real.stat().st_uid != owner_uid:
            raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{path} is not owned by uid {owner_uid}")
        return real, False
    try:
        parent = path.parent.stat()
    except OSError:
        raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path.parent} does not exist") from None
    if not stat.S_ISDIR(parent.st_mode):
        raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path.parent} is not a directory")
    if privileged and not _may_create_in(parent, owner_uid):
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"uid {owner_uid} may not create {path}")
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        raise RasError(ErrorCode.ERROR_ALREADY_ASSIGNED, f"{path} appeared meanwhile") from None
    except OSError as exc:
        raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path}: {exc.strerror}") from None
    if os.geteuid() == 0:
        os.chown(path, owner_uid, _owner_gid(owner_uid))
    return Path(os.path.realpath(path)), True


def check_fuse() -> None:
    if not os.path.exists("/dev/fuse"):
        raise RasError(
            ErrorCode.ERROR_NOT_SUPPORTED, "FUSE is not available (/dev/fuse is missing)"
        )


def _fsname(name: RemoteName) -> str:
    # Shown by mount(8); libfuse splits options at commas, so keep it to harmless characters.
    text = (
        f"{name.host}:{name.share}/{name.path}".rstrip("/")
        if name.scheme == "smb"
        else f"{name.host}:{name.path}"
    )
    return re.sub(r"[^A-Za-z0-9._:/@~+-]", "_", text)


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace").strip()


class MountConnection(ProviderConnection):
    """A connection whose resource is mounted on a local directory by a child process."""

    def __init__(
        self,
        provider: str,
        remote_name: str,
        user: str,
        mount_point: Path,
        created: bool,
        proc: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.provider = provider
        self.remote_name = remote_name
        self.user = user
        self.mount_point = mount_point
        self.created = created
        self.proc = proc
        self._reader = reader
        self._writer = writer
        self._query_lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<MountConnection {self.remote_name!r} on {self.mount_point} pid={self.proc.pid}>"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return not self._closed and self.proc.returncode is None

    async def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self._query_lock, asyncio.timeout(10.0):
            self._writer.write((json.dumps(message) + "\n").encode())
            await self._writer.drain()
            line = await self._reader.readline()
        if not line:
            raise RasError(ErrorCode.ERROR_CONNECTION_UNAVAIL, "the mount process is gone")
        answer = json.loads(line)
        if "error" in answer:
            raise RasError(int(answer["error"]), str(answer.get("detail", "")))
        return dict(answer)

    async def open_files(self) -> int:
        if not self.alive:
            return 0
        try:
            return int((await self._ask({"op": "open_files"}))["open_files"])
        except (OSError, TimeoutError, ValueError, KeyError, RasError):
            return 0

    async def _settled_open_files(self) -> int:
        # The kernel sends RELEASE after close() has returned to the program: give a file that
        # was just closed a moment to be counted out before refusing with ERROR_OPEN_FILES.
        deadline = time.monotonic() + 0.5
        while True:  # polling the child: RELEASE comes with no notification
            count = await self.open_files()
            if count == 0 or time.monotonic() >= deadline:
                return count
            await asyncio.sleep(0.05)

    async def close(self, force: bool) -> None:
        if self._closed:
            return
        mp = str(self.mount_point)
        if not force:
            count = await self._settled_open_files()
            if count:
                raise RasError(ErrorCode.ERROR_OPEN_FILES, f"{count} open file(s) on {mp}")
            if is_mount_point(mp):
                rc, out = await _run(FUSERMOUNT, "-u", "--", mp)
                if rc != 0 and is_mount_point(mp):
                    if "busy" in out.lower():
                        raise RasError(ErrorCode.ERROR_OPEN_FILES, f"{mp} is in use: {out}")
                    raise RasError(ErrorCode.ERROR_DEVICE_IN_USE, f"unmounting {mp}: {out}")
        else:
            if is_mount_point(mp):
                await _run(FUSERMOUNT, "-u", "-z", "--", mp)
        self._closed = True
        await self._stop_child(grace=10.0 if not force else 2.0)
        if is_mount_point(mp):  # the child died before unmounting: detach what is left
            await _run(FUSERMOUNT, "-u", "-z", "--", mp)
        if self.created:
            with contextlib.suppress(OSError):
                os.rmdir(mp)

    async def _stop_child(self, grace: float) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        try:
            await within(self.proc.wait(), grace)
            return
        except TimeoutError:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.returncode is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)  # by PID: asyncio's Process targets exactly this child
            with contextlib.suppress(TimeoutError):
                await within(self.proc.wait(), 5.0)


def _pin_directory(path: Path, owner_uid: int) -> int:
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC)
    st = os.fstat(fd)
    if os.geteuid() == 0 and owner_uid != 0 and st.st_uid != owner_uid:
        os.close(fd)
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{path} is not owned by uid {owner_uid}")
    return fd


async def mount(
    provider: str,
    kind: str,
    name: RemoteName,
    user: str,
    session: dict[str, Any],
    request: ConnectRequest,
) -> MountConnection:
    """Start a mount child for ``session`` on ``request.mount_point``; RasError on any failure."""
    assert request.mount_point is not None
    check_fuse()
    # mkdir/chown/listing and NSS look-ups: off the event loop.
    mount_point, created = await asyncio.to_thread(
        prepare_mount_point, Path(request.mount_point), request.owner_uid
    )
    owner_gid = await asyncio.to_thread(_owner_gid, request.owner_uid)
    # The mount happens long after the checks (after the remote login): pin the directory now.
    # The child mounts through this descriptor, so swapping the path for a symlink to a system
    # directory meanwhile cannot redirect a root mount; the owner is checked again on it.
    dir_fd = pinned_fd = _pin_directory(mount_point, request.owner_uid)
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc: asyncio.subprocess.Process | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        argv = [sys.executable, "-m", "openras.mpr.mount", "--control-fd", str(child_sock.fileno())]
        if log.isEnabledFor(logging.DEBUG):
            argv.append("--debug")
        # Own session: signals meant for the daemon's process group do not reach the mount;
        # it is stopped by its PID only.
        # A root daemon's mount for another user runs as that user: the code that serves the
        # file system (and talks to the server) holds no privilege; fusermount3 mounts it as
        # the user's own mount, on a directory the user owns.
        # (fusermount3 needs the user's name: a uid without a passwd entry keeps a root mount.)
        drop = os.geteuid() == 0 and request.owner_uid != 0 and _has_name(request.owner_uid)
        as_owner: dict[str, Any] = (
            {"user": request.owner_uid, "group": owner_gid, "extra_groups": []} if drop else {}
        )
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            env=_child_env(),
            pass_fds=(child_sock.fileno(), dir_fd),
            start_new_session=True,
            cwd="/",
            **as_owner,
        )
        child_sock.close()
        os.close(dir_fd)
        dir_fd = -1
        reader, writer = await asyncio.open_unix_connection(sock=parent_sock)
        # The owner's own mount needs no allow_other; a root mount for them does (RemoteOperations
        # still lets only the owner in).
        allow_other = os.geteuid() == 0 and request.owner_uid != 0 and not drop
        config = {
            "kind": kind,
            "session": session,
            "mount_point": str(mount_point),
            # fusermount3, run for the user, checks the path itself with the user's rights.
            "mount_fd": None if drop else pinned_fd,
            "uid": request.owner_uid,
            "gid": owner_gid,
            "allow_other": allow_other,
            "fsname": _fsname(name),
        }
        writer.write((json.dumps(config) + "\n").encode())
        await writer.drain()
        timeout = float(session.get("timeout", 20.0)) + READY_MARGIN
        try:
            line = await within(reader.readline(), timeout)
        except TimeoutError:
            raise RasError(
                ErrorCode.ERROR_EXTENDED_ERROR,
                f"mounting {mount_point}: no answer in {timeout:.0f} s",
            ) from None
        if not line:
            raise RasError(
                ErrorCode.ERROR_EXTENDED_ERROR, f"the mount process exited ({await proc.wait()})"
            )
        answer = json.loads(line)
        if "error" in answer:
            raise RasError(int(answer["error"]), str(answer.get("detail", "")))
        conn = MountConnection(
            provider, request.remote_name, user, mount_point, created, proc, reader, writer
        )
        # The child answers from FUSE's init callback; the mount table may lag that by a moment.
        deadline = time.monotonic() + 5
        while not is_mount_point(mount_point) and time.monotonic() < deadline:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
        if not is_mount_point(mount_point):
            await conn.close(force=True)
            raise RasError(
                ErrorCode.ERROR_EXTENDED_ERROR, f"{mount_point} did not appear in the mount table"
            )
        await asyncio.to_thread(widen_read_ahead, mount_point)
        log.info("mounted %s on %s (pid %d)", request.remote_name, mount_point, proc.pid)
        return conn
    except BaseException:
        child_sock.close()
        if dir_fd >= 0:
            os.close(dir_fd)
        if writer is not None:
            writer.close()
        else:
            parent_sock.close()
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await within(proc.wait(), 5)
        if is_mount_point(mount_point):
            await _run(FUSERMOUNT, "-u", "-z", "--", str(mount_point))
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(mount_point)
        raise
