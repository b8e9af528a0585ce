"""Issue 14 item 7: ``openras daemon stop|restart|reload``, SIGHUP, a second daemon exits
non-zero, and a daemon started on demand keeps nothing of its client's cwd or environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import PYTHON, Daemon
from ras_helpers import ssh_entry, wait_for

from openras.paths import ALREADY_SERVING


def _pid_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    wait_for(lambda: _pid_gone(pid), timeout=30)


def test_reload_keeps_links_and_applies_config(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    r = daemon.cli("dial", "lab", "--user", sshd.user, "--password", sshd.password)
    assert r.returncode == 0, r.stderr
    handle = json.loads(daemon.cli("status", "lab", "--json").stdout)["handle"]
    (daemon.home / "openras.toml").write_text("[daemon]\nfailed_handle_grace = 7\n")
    r = daemon.cli("daemon", "reload")
    assert r.returncode == 0, r.stderr
    assert f"Daemon {daemon.proc.pid} reloaded" in r.stdout and "links kept" in r.stdout
    # Still the same daemon, the link still up on the same handle.
    status = json.loads(daemon.cli("status", str(handle), "--json").stdout)
    assert status["state_name"] == "RASCS_Connected" and daemon.proc.poll() is None
    wait_for(lambda: "configuration reloaded" in daemon.log())  # the log is written by a thread
    # A file that does not load: refused, the daemon keeps running on the old configuration.
    (daemon.home / "openras.toml").write_text("[daemon\nbroken")
    r = daemon.cli("daemon", "reload")
    assert r.returncode == 87 and "Traceback" not in r.stderr
    wait_for(lambda: "reload refused" in daemon.log())
    # SIGHUP itself (what systemd's ExecReload sends) does the same.
    (daemon.home / "openras.toml").write_text("[daemon]\nfailed_handle_grace = 3\n")
    with daemon.client() as c:
        since = c.call("GET", "/v1/health")["last_seq"]
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: any(
                e["kind"] == "daemon" and e["action"] == "reloaded"
                for e in c.call("GET", "/v1/events/log", params={"since": since})
            )
        )
        assert c.call("GET", f"/v1/connections/{handle}")["state"] == 8192  # RASCS_Connected
    daemon.cli("hangup", "lab")


def test_stop_and_restart(daemon_factory: Any) -> None:
    d: Daemon = daemon_factory()
    old = d.proc.pid
    r = d.cli("daemon", "restart", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    new = result["new_pid"]
    try:
        assert result["pid"] == old and new != old
        assert d.proc.wait(30) == 0  # the old one exited cleanly
        with d.client() as c:
            assert c.call("GET", "/v1/health")["pid"] == new
        r = d.cli("daemon", "stop")
        assert r.returncode == 0 and f"Daemon {new} stopped." in r.stdout
        wait_for(lambda: _pid_gone(new), timeout=30)
        assert not d.socket.exists()
    finally:
        _kill(new)


def test_only_root_or_the_daemons_user_may_stop_it(daemon: Any, client_uids: Any) -> None:
    uid = client_uids[0]  # admitted on the socket (a root daemon admits every user)
    r = daemon.cli("daemon", "stop", uid=uid)
    assert r.returncode == 5 and "only root or that user" in r.stderr
    assert daemon.proc.poll() is None


def test_second_daemon_exits_non_zero(daemon: Any) -> None:
    r = subprocess.run(
        [PYTHON, "-m", "openras", "daemon"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == ALREADY_SERVING != 0
    assert f"another daemon already serves {daemon.socket}" in r.stderr


def test_daemon_started_on_demand_keeps_nothing_of_its_client(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    helper = Daemon()  # only for its environment: its home is not used, and removed at once
    env = {**helper.env, "OPENRAS_HOME": str(home), "CLIENT_SECRET_ENV": "x"}
    helper.cleanup()
    env.pop("OPENRAS_NO_AUTOSTART", None)
    code = (
        "import json; from openras.client import Client; "
        "print(json.dumps(Client().call('GET', '/v1/health')))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=work, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    pid = json.loads(r.stdout)["pid"]
    try:
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        environ = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
            if "=" in item
        )
        assert "CLIENT_SECRET_ENV" not in environ
        assert environ["OPENRAS_HOME"] == str(home)
        assert environ["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    finally:
        _kill(pid)
