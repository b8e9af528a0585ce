"""A real OpenSSH sshd on 127.0.0.1, with a test user that exists only inside its mount namespace.

The real /etc is never touched: sshd runs under ``unshare -m`` with its own /etc (copies of
passwd/shadow/group, the rest of the real /etc through symlinks: ``peers.private_etc``, which a
useradd or package install during the run cannot detach), a tmpfs on /run (for the privilege
separation directory /run/sshd) and private btmp/wtmp/lastlog. The listener is our child
(``unshare`` and ``sh`` both exec), so ``proc.pid`` is the sshd listener's PID.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from . import can_unshare_mounts, free_port, have_program, require
from .private_etc import PRIVATE_ETC
from .private_etc import prepare as prepare_etc
from .procs import (
    alive,
    descendants,
    freeze_descendants,
    kill_descendants,
    signal_pids,
    stop_tree,
    wait_gone,
)

SSHD = "/usr/sbin/sshd"  # sshd refuses to re-exec itself unless started by absolute path
TEST_USER = "rastest"
TEST_UID = 40100  # outside the client uids (40001, 40002) so ownership checks stay meaningful
TEST_GID = 40100

# Runs inside the new mount namespace; $1 is the test directory. `exec` keeps the PID.
NAMESPACE_SCRIPT = (
    PRIVATE_ETC
    + r"""
set -e
d="$1"
private_etc "$d"
mount -t tmpfs -o mode=0755 openras-sshd-run /run
mkdir -m 0755 /run/sshd
for f in btmp wtmp lastlog; do
    if [ -e "/var/log/$f" ]; then mount --bind "$d/log/$f" "/var/log/$f"; fi
done
exec /usr/sbin/sshd -D -e -f "$d/sshd_config"
"""
)

CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
UsePAM no
Subsystem sftp internal-sftp
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
# The test directory lives under world-writable /tmp, which StrictModes would reject.
StrictModes no
PermitRootLogin no
AllowTcpForwarding yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
# A benchmark opens 200 links at once.
MaxStartups 500:30:1000
MaxSessions 100
{extra}
"""


def sshd_available() -> None:
    """Skip (or fail in CI) when this machine cannot run the test sshd."""
    require(os.geteuid() == 0, "the test sshd needs root (mount namespace, privilege separation)")
    require(os.access(SSHD, os.X_OK), f"{SSHD} is missing (Debian package openssh-server)")
    require(
        have_program("ssh-keygen") and have_program("openssl"), "ssh-keygen or openssl is missing"
    )
    require(can_unshare_mounts(), "`unshare -m` does not work here (no mount namespaces)")


def _keygen(path: Path, comment: str) -> str:
    """Make an ed25519 key pair at path; return the public key line 'ssh-ed25519 AAAA… comment'."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path.with_suffix(".pub").read_text().strip()


def _sha512_crypt(password: str) -> str:
    out = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


class Sshd:
    """One sshd listener with its own host key, test user, password and client key.

    Attributes: host, port, user, password, uid, gid, home, client_key, client_pubkey,
    known_hosts, wrong_known_hosts, host_key_line, dir, pid. Methods: session_pids(),
    kill_sessions(), stop_sessions(), cont_sessions(), client_key_for(uid), log(), stop().
    """

    def __init__(
        self, extra_config: str = "", user: str = TEST_USER, wrap: tuple[str, ...] = ()
    ) -> None:
        # wrap: a command that execs the rest (e.g. a namespace standing in for the host).
        self.wrap = tuple(wrap)
        self.dir = Path(tempfile.mkdtemp(prefix="openras-sshd-"))
        os.chmod(self.dir, 0o755)  # the test user must traverse it to its home
        self.host = "127.0.0.1"
        self.port = 0
        self.user = user
        self.uid = TEST_UID
        self.gid = TEST_GID
        self.password = "pw-" + secrets.token_urlsafe(12)
        self.home = self.dir / "home" / user
        self.client_key = self.dir / "client_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.wrong_known_hosts = self.dir / "wrong_known_hosts"
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None
        self._prepare()

    # -- set-up -----------------------------------------------------------------------

    def _prepare(self) -> None:
        host_pub = _keygen(self.dir / "host_ed25519", "openras-test-host")
        self.host_key_line = host_pub.rsplit(" ", 1)[0]  # "ssh-ed25519 AAAA…"
        self._wrong_key_line = _keygen(self.dir / "wrong_host_ed25519", "wrong").rsplit(" ", 1)[0]
        self.client_pubkey = _keygen(self.client_key, "openras-test-client")
        os.chmod(self.client_key, 0o600)

        days = int(time.time() // 86400)  # a last-change day of 0 would force a password change
        shell = "/bin/sh"
        real = {f: Path(f"/etc/{f}").read_text() for f in ("passwd", "shadow", "group")}
        lines = {
            "passwd": f"{self.user}:x:{self.uid}:{self.gid}:openras test:{self.home}:{shell}\n",
            "shadow": f"{self.user}:{_sha512_crypt(self.password)}:{days}:0:99999:7:::\n",
            "group": f"{self.user}:x:{self.gid}:\n",
        }
        modes = {"passwd": 0o644, "group": 0o644, "shadow": 0o640}
        files = {}
        for name, text in real.items():
            if not text.endswith("\n"):
                text += "\n"
            files[name] = (text + lines[name], modes[name])
        prepare_etc(self.dir, files)  # the peer's own /etc (see peers.private_etc)

        log = self.dir / "log"
        log.mkdir()
        for name in ("btmp", "wtmp", "lastlog"):
            (log / name).touch()

        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True)
        (ssh / "authorized_keys").write_text(self.client_pubkey + "\n")
        os.chmod(ssh / "authorized_keys", 0o600)
        os.chmod(ssh, 0o700)
        os.chmod(self.home, 0o755)
        for p in (self.home, ssh, ssh / "authorized_keys"):
            os.chown(p, self.uid, self.gid)

    def client_key_for(self, uid: int, gid: int | None = None) -> Path:
        """A copy of the client key that uid may read (ssh clients insist on 0600 and ownership)."""
        copy = self.dir / f"client_ed25519.{uid}"
        if not copy.exists():
            shutil.copyfile(self.client_key, copy)
            os.chown(copy, uid, uid if gid is None else gid)
            os.chmod(copy, 0o600)
        return copy

    def _write_known_hosts(self) -> None:
        pattern = f"[{self.host}]:{self.port}"
        self.known_hosts.write_text(f"{pattern} {self.host_key_line}\n")
        self.wrong_known_hosts.write_text(f"{pattern} {self._wrong_key_line}\n")

    # -- life cycle -------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> Sshd:
        last_log = ""
        for _attempt in range(5):  # sshd cannot inherit a socket: retry when the port got taken
            self.port = free_port()
            (self.dir / "sshd_config").write_text(
                CONFIG.format(port=self.port, dir=self.dir, extra=self.extra_config)
            )
            logf = open(self.dir / "sshd.log", "wb")  # handed to the child, closed here
            try:
                self.proc = subprocess.Popen(
                    [
                        *self.wrap,
                        "unshare",
                        "-m",
                        "--propagation",
                        "private",
                        "sh",
                        "-c",
                        NAMESPACE_SCRIPT,
                        "sh",
                        str(self.dir),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
                    start_new_session=True,
                )
            finally:
                logf.close()
            ready = f"Server listening on {self.host} port {self.port}"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                last_log = self.log()
                if ready in last_log:
                    self._write_known_hosts()
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.005)
            self.stop()
            if "Address already in use" not in last_log:
                break
        raise RuntimeError(f"sshd did not start:\n{last_log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None, "sshd is not running"
        return self.proc.pid

    def log(self) -> str:
        try:
            return (self.dir / "sshd.log").read_text(errors="replace")
        except OSError:
            return ""

    def session_pids(self) -> list[int]:
        """PIDs of the live per-connection sshd processes (the listener's descendants, no
        zombies)."""
        return [p for p in descendants(self.pid) if alive(p)] if self.proc is not None else []

    def kill_sessions(self, timeout: float = 5.0) -> list[int]:
        """SIGKILL every session: the server side drops each SSH connection at once."""
        # Frozen first (a session caught mid-fork would leave an orphan holding the socket),
        # then killed together.
        pids = kill_descendants(self.pid, timeout) if self.proc is not None else []
        wait_gone(pids, timeout)
        return pids

    def stop_sessions(self) -> list[int]:
        """SIGSTOP every session: the peer goes silent with its TCP connection still open."""
        return freeze_descendants(self.pid) if self.proc is not None else []

    def cont_sessions(self) -> list[int]:
        pids = self.session_pids()
        signal_pids(pids, signal.SIGCONT)
        return pids

    def stop(self) -> None:
        """Stop the listener and every session (sessions call setsid(), so not by group)."""
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Sshd:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.cleanup()

    def __repr__(self) -> str:
        return (
            f"<Sshd {self.user}@{self.host}:{self.port} pid={self.proc.pid if self.proc else None}>"
        )
