"""Where an instance lives: ``OPENRAS_HOME`` holds the socket, the database and openras.toml.

Default: ``/run/openras`` (socket) and ``/var/lib/openras`` (state) for root, otherwise a
per-user directory from platformdirs. Setting OPENRAS_HOME puts everything in one directory,
so tests and users can run isolated instances side by side.
"""

from __future__ import annotations

import os
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


def resolve(home: str | os.PathLike[str] | None = None) -> Paths:
    home = home or os.environ.get("OPENRAS_HOME")
    if home:
        p = Path(home).absolute()
        return Paths(p, p, p)
    if os.geteuid() == 0:
        return Paths(Path("/run/openras"), Path("/var/lib/openras"), Path("/etc/openras"))
    return Paths(
        Path(platformdirs.user_runtime_dir("openras")),
        Path(platformdirs.user_state_dir("openras")),
        Path(platformdirs.user_config_dir("openras")),
    )
