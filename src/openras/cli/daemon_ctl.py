"""``openras daemon stop|restart|reload`` and which daemon answers.

The daemon's pid comes from ``/v1/health``; stop is SIGTERM (every link hung up cleanly),
reload is SIGHUP (openras.toml re-read, links kept). Signals are the kernel's access check:
only root or the daemon's own user may send them, which is exactly who may stop a daemon.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

from ..client import ApiError, Client
from ..client.transport import ensure_daemon, socket_answers
from ..codes import ErrorCode
from ..i18n import N_, _
from ..paths import SYSTEM_RUNTIME

WAIT = 60.0


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its parent has not collected yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def _signal(pid: int, uid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except PermissionError:
        raise ApiError(
            ErrorCode.ERROR_ACCESS_DENIED,
            detail=f"the daemon (pid {pid}) runs as uid {uid}; only root or that user may "
            f"send it {sig.name}",
        ) from None
    except ProcessLookupError:
        pass


def kind(client: Client) -> str:
    # Also an identifier in --json output; translated only where a person reads it.
    return N_("system") if client.paths.runtime == SYSTEM_RUNTIME else N_("per-user")


def which_daemon(client: Client) -> str:
    """One line: which daemon answers this client (the system one or a per-user one)."""
    health = client.call("GET", "/v1/health")
    return _("Daemon: {kind} daemon at {socket} (pid {pid}, uid {uid}, version {version})").format(
        kind=_(kind(client)),
        socket=client.paths.socket,
        pid=health["pid"],
        uid=health["uid"],
        version=health["version"],
    )


def _wait_reloaded(client: Client, since: int, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for event in client.call("GET", "/v1/events/log", params={"since": since}):
            if event.get("kind") == "daemon" and event.get("pid") == pid:
                if event.get("action") in ("reloaded", "reload-failed"):
                    return event
        time.sleep(0.1)
    raise ApiError(ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, detail="the daemon did not reload")


def cmd_daemon_action(action: str, as_json: bool) -> int:
    client = Client(autostart=False)
    health = client.call("GET", "/v1/health")
    pid, uid = int(health["pid"]), int(health["uid"])
    result: dict[str, Any] = {"action": action, "pid": pid, "daemon": kind(client)}
    if action == "reload":
        _signal(pid, uid, signal.SIGHUP)
        event = _wait_reloaded(client, int(health["last_seq"]), pid)
        result["reloaded"] = event["action"] == "reloaded"
        if not result["reloaded"]:
            # The old configuration stays in force; say why the new one was refused.
            raise ApiError(ErrorCode.ERROR_INVALID_PARAMETER, detail="openras.toml: see the log")
        message = _("Daemon {pid} reloaded {config}; links kept.").format(
            pid=pid, config=client.paths.config_file
        )
    else:
        _signal(pid, uid, signal.SIGTERM)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and (
            not _gone(pid) or socket_answers(str(client.paths.socket))
        ):
            time.sleep(0.05)
        if not _gone(pid):
            raise ApiError(
                ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE,
                detail=f"daemon {pid} did not stop",
            )
        message = _("Daemon {pid} stopped.").format(pid=pid)
        if action == "restart":
            ensure_daemon(client.paths, autostart=True)
            client.close()
            fresh = Client(paths=client.paths, autostart=False)
            new_pid = int(fresh.call("GET", "/v1/health")["pid"])
            fresh.close()
            result["new_pid"] = new_pid
            message += " " + _("Daemon {pid} started.").format(pid=new_pid)
    client.close()
    print(json.dumps(result) if as_json else message)
    return 0
