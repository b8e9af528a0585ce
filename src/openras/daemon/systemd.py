"""Living under systemd: socket activation, readiness notification, journal-friendly logs, units.

* Socket activation (``sd_listen_fds``): when ``LISTEN_PID`` is this process, the sockets
  handed in start at descriptor 3 (``LISTEN_FDS`` of them); the daemon serves the API on the
  first Unix stream socket instead of binding its own.
* ``READY=1`` / ``STATUS=`` / ``STOPPING=1`` go to ``NOTIFY_SOCKET`` through ``sdnotify`` (pure
  Python, no C build; python-systemd would need libsystemd headers and a compiler in every
  install for two datagrams).
* When stderr is the journal (``JOURNAL_STREAM`` names its device and inode), log lines carry no
  timestamp of their own: journald adds one.
* ``openras install-service`` writes the shipped ``openras.service`` (``Type=notify``) and
  ``openras.socket`` units, with ExecStart pointing at this interpreter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from importlib import resources
from pathlib import Path

import sdnotify
from aiohttp import web

from .conn_guard import ConnectionGuard, GuardedSockSite, GuardedUnixSite

LISTEN_FDS_START = 3  # SD_LISTEN_FDS_START
UNITS = ("openras.service", "openras.socket")
UNIT_DIR = Path("/etc/systemd/system")


def socket_handed() -> bool:
    """Whether systemd handed this process its listening sockets (without taking them yet)."""
    pid, count = os.environ.get("LISTEN_PID", ""), os.environ.get("LISTEN_FDS", "")
    return pid.isdigit() and count.isdigit() and int(pid) == os.getpid() and int(count) > 0


def listen_sockets() -> list[socket.socket]:
    """The sockets systemd (or systemd-socket-activate) handed to this process, if any."""
    pid, count = os.environ.get("LISTEN_PID", ""), os.environ.get("LISTEN_FDS", "")
    if not (pid.isdigit() and count.isdigit()) or int(pid) != os.getpid():
        return []
    # Children (devices, hooks) must not believe the sockets are theirs.
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    sockets = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))
    return sockets


def api_socket(sockets: list[socket.socket]) -> socket.socket | None:
    """The first listening Unix stream socket among those handed in."""
    for sock in sockets:
        if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            sock.setblocking(False)
            return sock
    return None


class Notifier:
    """sd_notify for a ``Type=notify`` service; does nothing outside systemd."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None
        # Only the main process may notify (NotifyAccess=main): keep children out of it.
        os.environ.pop("NOTIFY_SOCKET", None)

    def notify(self, **fields: str) -> None:
        if self._notifier is not None:
            self._notifier.notify("\n".join(f"{k}={v}" for k, v in fields.items()))

    def ready(self, status: str) -> None:
        self.notify(READY="1", STATUS=status)

    def status(self, status: str) -> None:
        self.notify(STATUS=status)

    def stopping(self, status: str) -> None:
        self.notify(STOPPING="1", STATUS=status)


def journal_is_stderr() -> bool:
    """True when stderr is a stream to journald (``JOURNAL_STREAM`` = its ``device:inode``)."""
    value = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def log_format() -> str:
    if journal_is_stderr():
        return "%(name)s %(levelname)s %(message)s"  # journald stamps each line itself
    return "%(asctime)s %(name)s %(levelname)s %(message)s"


def unit_text(name: str, exec_start: str | None = None) -> str:
    """A shipped unit; ExecStart of the service names ``exec_start`` when given."""
    text = (resources.files("openras") / "data" / "systemd" / name).read_text()
    if exec_start is None:
        return text
    return "".join(
        f"ExecStart={exec_start}\n" if line.startswith("ExecStart=") else line
        for line in text.splitlines(keepends=True)
    )


def default_exec_start() -> str:
    """This installation's daemon command: the interpreter running openras now."""
    return f"{sys.executable} -m openras daemon"


def install_units(
    prefix: Path | None = None, exec_start: str | None = None, reload: bool = True
) -> list[Path]:
    """Write the units to ``<prefix>/etc/systemd/system`` (or the real one); the paths written.

    ``systemctl daemon-reload`` runs only for the real directory on a machine booted with
    systemd."""
    target = UNIT_DIR if prefix is None else prefix / UNIT_DIR.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in UNITS:
        path = target / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(unit_text(name, exec_start or default_exec_start()))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        written.append(path)
    systemctl = shutil.which("systemctl")
    if reload and prefix is None and systemctl and os.path.isdir("/run/systemd/system"):
        subprocess.run([systemctl, "daemon-reload"], check=False)
    return written


async def api_site(
    runner: web.AppRunner, path: Path, mode: int, guard: ConnectionGuard
) -> tuple[web.BaseSite, bool]:
    """The API's listening site: the socket handed in by systemd, else our own at ``path``; every
    accepted connection goes through ``guard`` (per-user caps, idle time-outs, fd budget).

    Returns the site and whether it was handed in (then systemd owns the file and its mode)."""
    handed = api_socket(listen_sockets())
    if handed is not None:
        site: web.BaseSite = GuardedSockSite(runner, handed, guard)
        await site.start()
        return site, True
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    site = GuardedUnixSite(runner, str(path), guard)
    await site.start()
    os.chmod(path, mode)
    return site, False
