"""openras under systemd (issue 12, item 2): socket activation by the real
``systemd-socket-activate``, READY=1 / STOPPING=1 to a NOTIFY_SOCKET the test listens on, journal
log format, and the shipped units (checked by ``systemd-analyze verify``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import Daemon
from peers import require
from ras_helpers import wait_for


def notifications(listener: socket.socket, until: str, timeout: float = 30) -> list[str]:
    """Datagrams received on the NOTIFY_SOCKET listener until one holds ``until``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listener.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            seen.append(listener.recv(4096).decode())
        except TimeoutError:
            break
        if until in seen[-1].split("\n"):
            return seen
    raise AssertionError(f"no {until} in {seen}")


@pytest.fixture
def activated(tmp_path: Path) -> Any:
    tool = shutil.which("systemd-socket-activate")
    require(tool is not None, "systemd-socket-activate (package systemd) is not installed")
    daemon = Daemon()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    log = open(daemon.home / "daemon.log", "ab")
    env = {**daemon.env, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    # The log file is the daemon's stderr: JOURNAL_STREAM names it as journald would.
    st = os.fstat(log.fileno())
    env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    passed = ["OPENRAS_HOME", "NOTIFY_SOCKET", "JOURNAL_STREAM", "PATH"]
    if "PYTHONPATH" in env:
        passed.append("PYTHONPATH")
    argv = [tool, "-l", str(daemon.socket)]
    for name in passed:
        argv += ["-E", name]
    daemon.proc = subprocess.Popen(
        [*argv, sys.executable, "-m", "openras", "daemon"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    yield daemon, listener
    listener.close()
    daemon.cleanup()


def test_socket_activated_daemon_serves_the_handed_socket_and_notifies(activated: Any) -> None:
    daemon, listener = activated
    deadline = time.monotonic() + 20
    while not daemon.socket.exists():  # systemd-socket-activate binds it, not the daemon
        assert time.monotonic() < deadline and daemon.proc.poll() is None, daemon.log()
        time.sleep(0.02)
    bound = os.stat(daemon.socket)
    # The first connection starts the daemon, which serves it on the socket it was handed.
    with daemon.client() as c:
        health = c.call("GET", "/v1/health")
        assert c.call("GET", "/v1/connections") == []
    assert health["pid"] == daemon.proc.pid  # exec'd in place: LISTEN_PID was its own pid
    ready = notifications(listener, "READY=1")
    assert any(line.startswith("STATUS=serving on") for line in ready[-1].split("\n"))
    still = os.stat(daemon.socket)
    assert (still.st_ino, still.st_dev) == (bound.st_ino, bound.st_dev)  # never re-bound
    # journald stamps lines itself: the daemon's own lines carry no timestamp.
    wait_for(lambda: "listening on" in daemon.log())  # written by the daemon's log thread
    lines = [ln for ln in daemon.log().splitlines() if ln.startswith("openras ")]
    assert any("listening on" in ln for ln in lines), daemon.log()
    assert not any(ln[:4].isdigit() for ln in daemon.log().splitlines()), daemon.log()
    assert daemon.stop(signal.SIGTERM) == 0
    assert "STOPPING=1" in notifications(listener, "STOPPING=1")[-1].split("\n")
    # The socket is systemd's: the daemon leaves it for the next activation.
    assert daemon.socket.exists()


def test_daemon_without_systemd_sends_nothing_and_stamps_its_logs(tmp_path: Path) -> None:
    daemon = Daemon().start()
    try:
        with daemon.client() as c:
            assert c.call("GET", "/v1/health")["pid"] == daemon.proc.pid
        assert any(ln[:4].isdigit() for ln in daemon.log().splitlines()), daemon.log()
    finally:
        daemon.cleanup()


def test_install_service_writes_units_systemd_accepts(tmp_path: Path) -> None:
    daemon = Daemon()
    try:
        result = daemon.cli("install-service", "--prefix", str(tmp_path))
        assert result.returncode == 0, result.stderr
    finally:
        daemon.cleanup()
    unit_dir = tmp_path / "etc" / "systemd" / "system"
    service = (unit_dir / "openras.service").read_text()
    socket_unit = (unit_dir / "openras.socket").read_text()
    assert "Type=notify" in service.splitlines()
    assert f"ExecStart={sys.executable} -m openras daemon" in service.splitlines()
    assert "ListenStream=/run/openras/openras.sock" in socket_unit.splitlines()
    assert oct((unit_dir / "openras.service").stat().st_mode & 0o777) == "0o644"
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze (package systemd) is not installed")
    verify = subprocess.run(
        [analyze, "verify", str(unit_dir / "openras.service"), str(unit_dir / "openras.socket")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"},
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
