"""``openras.toml``: daemon policy, device tuning, MPR provider order and notifyees."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codes import ErrorCode, RasError


@dataclass
class Config:
    # uids allowed on the socket besides the daemon's own and root; "*" = every local user.
    allow_users: list[int] | str = field(default_factory=list)
    # A failed dial's handle is released this long after its owning process is gone.
    failed_handle_grace: float = 30.0
    # Events kept in memory for resuming subscribers, and in the database's log.
    replay_events: int = 4096
    log_events: int = 100_000
    subscriber_queue: int = 1024
    # Per-user bounds (issue 10): phonebook entries a user may own, one entry's size in bytes,
    # API connections a user may hold open, and how long an idle API connection is kept.
    max_entries_per_user: int = 10_000
    max_entry_bytes: int = 64 * 1024
    max_connections_per_user: int = 64
    idle_timeout: float = 60.0
    devices: dict[str, Any] = field(default_factory=dict)
    mpr: dict[str, Any] = field(default_factory=dict)
    notifyees: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def load(path: Path) -> Config:
    if not path.exists():
        return Config(allow_users="*" if os.geteuid() == 0 else [])
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, f"{path}: {exc}") from None
    daemon = data.get("daemon", {})
    allow = daemon.get("allow_users", "*" if os.geteuid() == 0 else [])
    if allow != "*" and not (isinstance(allow, list) and all(isinstance(u, int) for u in allow)):
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER,
            f'{path}: daemon.allow_users must be "*" or a list of uids',
        )
    cfg = Config(allow_users=allow, raw=data)
    for name in (
        "failed_handle_grace",
        "replay_events",
        "log_events",
        "subscriber_queue",
        "max_entries_per_user",
        "max_entry_bytes",
        "max_connections_per_user",
        "idle_timeout",
    ):
        if name in daemon:
            value = daemon[name]
            if not isinstance(value, int | float) or value < 0:
                raise RasError(
                    ErrorCode.ERROR_INVALID_PARAMETER,
                    f"{path}: daemon.{name} must be a non-negative number",
                )
            setattr(cfg, name, type(getattr(cfg, name))(value))
    cfg.devices = dict(data.get("devices", {}))
    cfg.mpr = dict(data.get("mpr", {}))
    notifyees = data.get("notifyees", {})
    if not isinstance(notifyees, dict) or not all(isinstance(v, str) for v in notifyees.values()):
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER, f"{path}: [notifyees] maps names to file paths"
        )
    cfg.notifyees = dict(notifyees)
    return cfg
