"""Issue 14, "must show": the README's first-hour path, as a non-root user against a root
system daemon, asserting the messages the user sees at each step.

The system daemon runs as root with no OPENRAS_HOME, so it serves /run/openras and
/var/lib/openras — inside a private mount namespace where those are fresh tmpfs directories
and /etc/passwd is a copy that adds the user (newbie, uid 40001, home under tmp_path). The
machine's own /run, /var/lib and /etc are never touched. The user's commands run in that
namespace (nsenter) as uid 40001, without OPENRAS_HOME: they must find the system daemon on
their own.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from harness import PYTHON
from peers import require
from ras_helpers import wait_for

UID = 40001
NAMESPACE = r"""
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mount --bind "$1/passwd" /etc/passwd
shift
exec "$@"
"""


class SystemDaemon:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.home = tmp / "newbie"
        self.home.mkdir()
        os.chown(self.home, UID, UID)
        passwd = Path("/etc/passwd").read_text().rstrip("\n") + "\n"
        passwd += f"newbie:x:{UID}:{UID}:first hour:{self.home}:/bin/sh\n"
        (tmp / "passwd").write_text(passwd)
        os.chmod(tmp / "passwd", 0o644)
        import openras

        # This test's openras (a worktree's src when PYTHONPATH points at it); no test home.
        self.pythonpath = str(Path(openras.__file__).resolve().parents[1])
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PYTHONPATH": self.pythonpath}
        log = open(tmp / "daemon.log", "wb")
        self.proc = subprocess.Popen(
            [
                *("unshare", "-m", "--propagation", "private", "sh", "-c", NAMESPACE, "sh"),
                *(str(tmp), PYTHON, "-m", "openras", "daemon", "-v"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
        )
        log.close()
        wait_for(lambda: "openras daemon ready on /run/openras/openras.sock" in self.log())

    def log(self) -> str:
        return (self.tmp / "daemon.log").read_text(errors="replace")

    def as_user(self, *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """A command of the user's, in the daemon's mount namespace, as uid 40001."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "USER": "newbie",
            "LOGNAME": "newbie",
            "LANG": "C.UTF-8",
        }
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        wrapper = [
            "nsenter",
            "-t",
            str(self.proc.pid),
            "-m",
            "--",
            "setpriv",
            f"--reuid={UID}",
            f"--regid={UID}",
            "--clear-groups",
            "--",
        ]
        return subprocess.run(
            wrapper + list(argv),
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=90,
            cwd="/",
        )

    def openras(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.as_user(PYTHON, "-m", "openras", *args, input=input)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def system_daemon(client_uids: Any) -> Any:
    require(os.geteuid() == 0, "a system daemon runs as root")
    require(os.path.exists("/dev/fuse"), "FUSE is not available")
    for tool in ("unshare", "nsenter", "setpriv", "curl"):
        require(shutil.which(tool) is not None, f"{tool} is not installed")
    # Not pytest's tmp_path: its parents are root's alone, and the user must reach its home.
    tmp = Path(tempfile.mkdtemp(prefix="openras-first-hour-"))
    os.chmod(tmp, 0o755)
    d = SystemDaemon(tmp)
    yield d
    d.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def test_first_hour(system_daemon: Any, sshd: Any, http_server: Any) -> None:
    d = system_daemon
    host_key = asyncssh.import_public_key(sshd.host_key_line)
    fingerprint = host_key.get_fingerprint("sha256")
    known_hosts = d.home / ".ssh" / "known_hosts"
    (sshd.home / "docs").mkdir()
    (sshd.home / "docs" / "hello.txt").write_text("hello from the server\n")
    os.chown(sshd.home / "docs", sshd.uid, sshd.gid)

    # 1. Which daemon answers: the system one, found without any OPENRAS_HOME.
    r = d.openras("status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        f"Daemon: system daemon at /run/openras/openras.sock (pid {d.proc.pid}, uid 0,"
    )
    assert "No connections" in r.stdout

    # 2. An SSH entry; no known-hosts file yet.
    r = d.openras("entry", "create", "lab", "DEVICE=ssh", f"PhoneNumber=127.0.0.1:{sshd.port}")
    assert r.returncode == 0 and r.stderr == "" and "Entry lab: create done." in r.stdout
    r = d.openras("credentials", "lab", "--user", sshd.user, "--password-stdin",
                  input=sshd.password + "\n")  # fmt: skip
    assert r.returncode == 0 and "password saved" in r.stdout

    # 3. Dial: refused with the key's fingerprint and the command that trusts it.
    r = d.openras("dial", "lab")
    assert r.returncode == 864 % 256
    assert "Remote Access error 864 - " in r.stderr
    assert f"no known-hosts file {known_hosts}" in r.stderr
    assert f"the server offers ssh-ed25519 key {fingerprint}" in r.stderr
    assert "trust it with: openras entry trust lab" in r.stderr
    # The daemon's log says it too.
    assert f"no known-hosts file {known_hosts}" in d.log()

    # 4. Trust the host (checking the fingerprint the message showed).
    r = d.openras("entry", "trust", "lab", "--fingerprint", fingerprint)
    assert r.returncode == 0, r.stderr
    assert f"[127.0.0.1]:{sshd.port} offers ssh-ed25519 key {fingerprint}" in r.stdout
    assert f"Added to {known_hosts}." in r.stdout
    assert known_hosts.stat().st_uid == UID and known_hosts.stat().st_mode & 0o077 == 0
    assert known_hosts.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")

    # 5. Dial again: connected, with the SOCKS port printed.
    r = d.openras("dial", "lab")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^Connected: SOCKS5 proxy on 127\.0\.0\.1:(\d+)\.$", r.stdout, re.M)
    assert m, r.stdout
    port = m.group(1)

    # 6. curl through it, as the user.
    r = d.as_user("curl", "-s", "--max-time", "20", "--socks5-hostname", f"127.0.0.1:{port}",
                  http_server.url)  # fmt: skip
    assert r.stdout == http_server.token, r.stderr

    # 7. Map an SFTP path with net use (same known_hosts: the host is already trusted).
    mount = d.home / "docs"
    d.as_user("mkdir", str(mount))
    remote = f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{sshd.home}/docs"
    r = d.openras("net", "use", str(mount), remote, sshd.password)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "The command completed successfully."
    r = d.as_user("cat", str(mount / "hello.txt"))
    assert r.stdout == "hello from the server\n", r.stderr
    r = d.openras("net", "use")
    assert "Status       Local     Remote" in r.stdout and "openras SFTP" in r.stdout

    # 8. Hang up; unmap.
    r = d.openras("hangup", "lab")
    assert r.returncode == 0 and re.match(r"Handle \d+ hung up\.", r.stdout), r.stderr
    r = d.openras("net", "use", str(mount), "/DELETE")
    assert r.returncode == 0 and f"{mount} was deleted successfully." in r.stdout
    r = d.openras("status")
    assert "No connections" in r.stdout
    # No per-user daemon was started on the way.
    assert not (d.home / ".local").exists() or not list((d.home / ".local").rglob("*.sock"))
