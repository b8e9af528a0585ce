"""One daemon per instance, and only the daemon's user decides which.

The lock is an flock on ``daemon.lock`` inside a directory only the daemon's user can enter
(``private/``, mode 0700): another user can neither create nor open it, so nobody else can hold
it. Holding the lock is not enough to serve: if a daemon already answers on the socket (its lock
file was deleted under it), the newcomer leaves it alone instead of taking its socket over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time

from ..client.transport import socket_answers
from ..paths import ALREADY_SERVING, Paths

WAIT_FOR_PEER = 15.0


class NotStarted(Exception):
    """Why this process will not serve; ``code`` is its exit status (0: another daemon does)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _private_dir(paths: Paths) -> str:
    path = str(paths.lock.parent)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise NotStarted(f"{path} is not a directory owned by uid {os.geteuid()}", 1)
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def acquire(paths: Paths, handed: bool = False) -> int:
    """The locked file descriptor (keep it open while serving), or :class:`NotStarted`.

    ``handed``: systemd handed the socket in; it accepts connections for us, so a connect that
    succeeds there proves no other daemon."""
    _private_dir(paths)
    try:
        fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise NotStarted(f"cannot open {paths.lock}: {exc.strerror}", 1) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        # Another daemon is starting: it serves once its socket answers.
        deadline = time.monotonic() + WAIT_FOR_PEER
        while time.monotonic() < deadline:
            if socket_answers(str(paths.socket)):
                raise NotStarted(
                    f"another daemon already serves {paths.socket}", ALREADY_SERVING
                ) from None
            time.sleep(0.05)
        raise NotStarted(
            f"{paths.lock} is held, but no daemon answers on {paths.socket}", 1
        ) from None
    if not handed and socket_answers(str(paths.socket)):
        os.close(fd)
        raise NotStarted(f"another daemon already serves {paths.socket}", ALREADY_SERVING)
    return fd
