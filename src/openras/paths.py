"""Where an instance lives: ``OPENRAS_HOME`` holds the socket, the database and openras.toml.

Default: the system daemon's ``/run/openras`` (socket) and ``/var/lib/openras`` (state) for root,
and for every user while a system daemon answers there (one daemon for the machine, like
RasMan); otherwise a per-user directory from platformdirs. Setting OPENRAS_HOME puts everything
in one directory, so tests and users can run isolated instances side by side.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Paths:
    runtime: Path  # socket, lock, daemon log
    state: Path  # database, drives directory
    config: Path  # openras.toml

    @property
    def socket(self) -> Path:
        return self.runtime / "openras.sock"

    @property
    def lock(self) -> Path:
        # In a directory only the daemon's user can enter (see daemon/single.py).
        return self.runtime / "private" / "daemon.lock"

    @property
    def log(self) -> Path:
        return self.runtime / "daemon.log"

    @property
    def database(self) -> Path:
        return self.state / "openras.db"

    @property
    def config_file(self) -> Path:
        return self.config / "openras.toml"


# The exit status of a daemon that found another already serving its directory (EX_TEMPFAIL).
ALREADY_SERVING = 75
SYSTEM_RUNTIME = Path("/run/openras")
SYSTEM = Paths(SYSTEM_RUNTIME, Path("/var/lib/openras"), Path("/etc/openras"))


def system_daemon_answers() -> bool:
    """Is a system daemon serving /run/openras? (a connect, answered by the listen backlog)"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(str(SYSTEM.socket))
        return True
    except OSError:
        return False
    finally:
        s.close()


def resolve(home: str | os.PathLike[str] | None = None, daemon: bool = False) -> Paths:
    """Where to serve (``daemon``) or whom to ask: a client prefers a running system daemon."""
    home = home or os.environ.get("OPENRAS_HOME")
    if home:
        p = Path(home).absolute()
        return Paths(p, p, p)
    if os.geteuid() == 0 or (not daemon and system_daemon_answers()):
        return SYSTEM
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs warns and uses /tmp/runtime-<uid>: that is fine.
        warnings.simplefilter("ignore")
        runtime = Path(platformdirs.user_runtime_dir("openras"))
    return Paths(
        runtime,
        Path(platformdirs.user_state_dir("openras")),
        Path(platformdirs.user_config_dir("openras")),
    )
