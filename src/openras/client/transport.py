"""Finding the daemon: the socket under OPENRAS_HOME, started on demand when nothing answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from ..codes import ErrorCode, RasError
from ..paths import Paths, resolve

START_TIMEOUT = 15.0


def socket_answers(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def ensure_daemon(paths: Paths | None = None, autostart: bool = True) -> Paths:
    """Return the instance's paths once its daemon answers, starting one if allowed."""
    paths = paths or resolve()
    if socket_answers(str(paths.socket)):
        return paths
    if not autostart:
        raise RasError(
            ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"no daemon answers at {paths.socket}"
        )
    try:
        paths.runtime.mkdir(parents=True, exist_ok=True)
        log = open(paths.log, "ab")
    except OSError as exc:
        raise RasError(
            ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"cannot start the daemon: {exc}"
        ) from None
    env = dict(os.environ)
    if paths.runtime == paths.state == paths.config:
        env["OPENRAS_HOME"] = str(
            paths.runtime
        )  # one home directory (OPENRAS_HOME or Client(home=...))
    # A new session: the daemon must outlive the client that started it (contract point 3).
    proc = subprocess.Popen(
        [sys.executable, "-m", "openras", "daemon"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if socket_answers(str(paths.socket)):
            return paths
        code = proc.poll()
        # Exit 0 means another client's daemon won the lock: keep waiting for its socket.
        if code not in (None, 0):
            break
        time.sleep(0.02)
    raise RasError(
        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, f"the daemon did not start; see {paths.log}"
    )
