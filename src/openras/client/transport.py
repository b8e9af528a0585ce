"""Finding the daemon: the socket under OPENRAS_HOME, started on demand when nothing answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from ..codes import ErrorCode, RasError
from ..paths import ALREADY_SERVING, SYSTEM, Paths, resolve

# What a daemon started on demand keeps of the client's environment: where the user's
# directories are, the language, and where this openras is; nothing else (no cwd either).
KEPT_ENV = ("HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "PYTHONPATH")
KEPT_PREFIXES = ("XDG_", "LC_", "OPENRAS_")  # the user's directories, locale, openras' own
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def daemon_environment(paths: Paths) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith(KEPT_PREFIXES)}
    env["PATH"] = SAFE_PATH
    if env.get("PYTHONPATH"):
        # The daemon runs in "/": a relative entry must name what it named for the client.
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    if paths.runtime == paths.state == paths.config:
        env["OPENRAS_HOME"] = str(paths.runtime)  # one home (OPENRAS_HOME or Client(home=...))
    return env


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
        for directory in (paths.runtime, paths.state):
            directory.mkdir(parents=True, exist_ok=True)
        log = open(paths.log, "ab")
    except OSError as exc:
        raise RasError(
            ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE,
            f"no system daemon answers at {SYSTEM.socket} and a per-user daemon cannot be "
            f"started ({exc.filename or paths.runtime}: {exc.strerror}); start the system "
            "daemon, or set OPENRAS_HOME to a directory this user may write",
        ) from None
    env = daemon_environment(paths)
    # A new session: the daemon must outlive the client that started it (contract point 3);
    # cwd "/": it must not pin, or resolve paths against, the client's working directory.
    proc = subprocess.Popen(
        [sys.executable, "-m", "openras", "daemon"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
        cwd="/",
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if socket_answers(str(paths.socket)):
            return paths
        code = proc.poll()
        # ALREADY_SERVING: another client's daemon won the lock: keep waiting for its socket.
        if code not in (None, ALREADY_SERVING):
            break
        time.sleep(0.02)
    raise RasError(
        ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE,
        f"the daemon did not start{_last_words(paths)}; see {paths.log}",
    )


def _last_words(paths: Paths) -> str:
    """The daemon log's last line, so the reason is in the message and not only in the file."""
    try:
        with open(paths.log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 2048))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return f" ({lines[-1].strip()})" if lines else ""
