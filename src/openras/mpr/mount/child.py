"""The mount child: ``python -m openras.mpr.mount --control-fd N``.

One process per mounted connection, so that libfuse's blocking loop and signal handlers
never run inside the asyncio daemon. Protocol on the control socket (JSON lines):

    parent → child   {"kind": "smb"|"sftp", "session": {...}, "mount_point": "...",
                      "uid": N, "gid": N, "allow_other": bool, "fsname": "..."}   (once)
    child  → parent  {"ready": true, "pid": N}  or  {"error": code, "detail": "..."}
    parent → child   {"op": "open_files"}  →  {"open_files": n}

Credentials arrive only on that socket (never argv or the environment). The child opens its
own session with the provider's blocking code, then mounts. When the control socket reaches
end-of-file (the daemon went away) the child lazily unmounts itself and exits, so a dead
daemon leaves no orphaned mounts behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from typing import Any

from ...codes import ErrorCode, RasError
from .heap import keep_read_buffers

log = logging.getLogger("openras.mpr.mount")

FUSERMOUNT = "fusermount3"


class Control:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._send_lock, contextlib.suppress(OSError):
            self.sock.sendall(data)

    def receive(self) -> dict[str, Any] | None:
        line = self.rfile.readline()
        if not line:
            return None
        value = json.loads(line)
        return value if isinstance(value, dict) else None


def open_session(kind: str, data: dict[str, Any]) -> Any:
    if kind == "smb":
        from ..providers.smb import SmbSession

        session: Any = SmbSession.from_json(data)
    elif kind == "sftp":
        from ..providers.sftp import SftpFS, SftpTarget

        session = SftpFS(SftpTarget.from_json(data))
    else:
        raise RasError(ErrorCode.ERROR_BAD_PROVIDER, f"unknown mount kind {kind!r}")
    session.connect()
    return session


def lazy_unmount(mount_point: str) -> None:
    subprocess.run(
        [FUSERMOUNT, "-u", "-z", "--", mount_point],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=30,
    )


def serve_control(control: Control, ops: Any, mount_point: str) -> None:
    """Answer queries until the parent closes the socket; then take the mount down."""
    while True:
        try:
            message = control.receive()
        except (OSError, ValueError):
            message = None
        if message is None:
            log.info("control socket closed: unmounting %s", mount_point)
            lazy_unmount(mount_point)
            return
        if message.get("op") == "open_files":
            control.send({"open_files": ops.open_count})
        else:
            control.send({"error": ErrorCode.ERROR_INVALID_PARAMETER, "detail": "unknown op"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openras.mpr.mount")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        stream=sys.stderr,
        format="openras-mount[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    keep_read_buffers()  # before the session allocates its buffers
    control = Control(socket.socket(fileno=args.control_fd))
    config = control.receive()
    if config is None:
        return 2
    try:
        session = open_session(str(config["kind"]), dict(config["session"]))
    except RasError as exc:
        control.send({"error": exc.code, "detail": exc.detail})
        return 1
    except Exception as exc:
        control.send(
            {"error": ErrorCode.ERROR_EXTENDED_ERROR, "detail": f"{type(exc).__name__}: {exc}"}
        )
        return 1
    del config["session"]  # drop the password from this process' live data as far as we can

    import mfusepy

    from .fs import RemoteOperations

    mount_point = str(config["mount_point"])
    ready = threading.Event()

    def on_init() -> None:
        ready.set()
        threading.Thread(target=announce, name="control", daemon=True).start()

    def announce() -> None:
        # The kernel applies the reply to its INIT request (the read-ahead cap among it) after
        # init returns; a request through the mount waits for that (statfs always reaches us,
        # a stat may be answered from the root's initial attributes). Only then is the daemon
        # told, so the read-ahead it widens on "ready" is not reset behind its back.
        with contextlib.suppress(OSError):
            os.statvfs(mount_point)
        control.send({"ready": True, "pid": os.getpid()})
        serve_control(control, ops, mount_point)

    ops = RemoteOperations(session, int(config["uid"]), int(config["gid"]), on_init=on_init)
    options: dict[str, Any] = {
        "foreground": True,
        "nothreads": True,
        "default_permissions": True,
        "fsname": str(config.get("fsname") or "openras"),
        "subtype": f"openras-{config['kind']}",
    }
    if config.get("allow_other"):
        options["allow_other"] = True
    try:
        # Mount on the directory the daemon pinned and checked (its descriptor), not on the path.
        target = (
            f"/proc/self/fd/{int(config['mount_fd'])}"
            if config.get("mount_fd") is not None
            else mount_point
        )
        mfusepy.FUSE(ops, target, **options)
    except Exception as exc:
        if not ready.is_set():
            control.send(
                {"error": ErrorCode.ERROR_EXTENDED_ERROR, "detail": f"FUSE mount failed: {exc}"}
            )
        return 1
    finally:
        with contextlib.suppress(Exception):
            session.close()
    if not ready.is_set():
        control.send({"error": ErrorCode.ERROR_EXTENDED_ERROR, "detail": "FUSE mount failed"})
        return 1
    return 0
