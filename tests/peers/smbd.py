"""A real Samba smbd on 127.0.0.1:<free port> for tests (peers.md, "SMB: Samba").

The test user. ``smbpasswd -a`` needs a Unix account, and the real /etc must not change.
So smbpasswd and smbd run inside a private mount namespace (``unshare -m``, as the sshd
fixture does) with their own /etc: copies of /etc/passwd and /etc/group with one extra user,
the rest of the real /etc through symlinks (``peers.private_etc``: a useradd or package install
replacing the real files during the run cannot detach it). The user's uid (40110) has no entry
outside: files it writes into the share directory show up with a bare uid. (Using an existing
account such as ``nobody`` was the alternative; it is smbd's guest account, which invites special
cases.)

Process handling. smbd is started as the leader of a new session (``setsid``); its
shutdown signals that process group. Helpers it starts on demand (samba-dcerpcd, rpcd_*)
detach into their own groups, so at stop every process in the fixture's mount namespace
is found by its /proc/PID/ns/mnt link and signalled by PID — never by name.

Use ``from peers.smbd import smbd`` in a test module to get the ``smbd`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import require
from .private_etc import PRIVATE_ETC
from .private_etc import prepare as prepare_etc

SMBD = shutil.which("smbd") or "/usr/sbin/smbd"
SMBPASSWD = shutil.which("smbpasswd") or "/usr/bin/smbpasswd"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smbd:
    host: str
    port: int
    share: str
    user: str
    password: str = field(repr=False)
    share_dir: Path
    uid: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def unc(self) -> str:
        return rf"\\{self.host}@{self.port}\{self.share}"

    @property
    def url(self) -> str:
        return f"smb://{self.host}:{self.port}/{self.share}"

    def log(self) -> str:
        try:
            return (self.dir / "smbd.out").read_text(errors="replace")
        except OSError:
            return ""

    def _namespace(self) -> str | None:
        if self.proc is None:
            return None
        try:
            ns = os.readlink(f"/proc/{self.proc.pid}/ns/mnt")
        except OSError:
            return None
        return None if ns == os.readlink("/proc/self/ns/mnt") else ns

    def namespace_pids(self, ns: str | None = None) -> list[int]:
        """Every process in smbd's private mount namespace: smbd, its children, re-parented
        helpers."""
        ns = ns or self._namespace()
        if ns is None:  # not (yet) unshared: only the leader is known to be ours
            return [self.proc.pid] if self.proc is not None else []
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/ns/mnt") == ns:
                        pids.append(int(entry))
        return pids

    def stop(self) -> None:
        if self.proc is None:
            return
        ns = self._namespace()
        helpers = self.namespace_pids(ns)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        for pid in helpers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        deadline = time.monotonic() + 5
        for pid in helpers:
            while time.monotonic() < deadline and _running(pid):
                time.sleep(0.02)
            if _running(pid) and pid in self.namespace_pids(ns):  # still ours, not a reused pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.proc = None


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie waits for its new parent to reap it; it holds nothing)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def _config(d: Path, port: int, share: str, user: str, share_dir: Path) -> str:
    return f"""[global]
    server role = standalone server
    workgroup = OPENRASTEST
    netbios name = OPENRASTEST
    disable netbios = yes
    smb ports = {port}
    interfaces = 127.0.0.1/8
    bind interfaces only = yes
    private dir = {d}/private
    lock directory = {d}/lock
    state directory = {d}/state
    cache directory = {d}/cache
    pid directory = {d}/pid
    ncalrpc dir = {d}/ncalrpc
    binddns dir = {d}/binddns
    log file = {d}/log/smbd.%m
    passdb backend = tdbsam:{d}/private/passdb.tdb
    map to guest = never
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    server min protocol = SMB2_10
    server signing = auto

[{share}]
    path = {share_dir}
    valid users = {user}
    read only = no
    create mask = 0644
    directory mask = 0755
"""


def start_smbd(
    base: Path,
    user: str = "rasuser",
    password: str = "s3cret-Pw",
    share: str = "data",
    uid: int = 40110,
    wrap: tuple[str, ...] = (),
) -> Smbd:
    """wrap: a command that execs the rest (e.g. a namespace standing in for the host)."""
    d = base / "smbd"
    for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "binddns", "log", "share"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "private").chmod(0o700)
    share_dir = d / "share"
    os.chown(share_dir, uid, uid)
    port = free_port()
    conf = d / "smb.conf"
    conf.write_text(_config(d, port, share, user, share_dir))
    # passwd/group copies with the test user, in the namespace's own /etc (peers.private_etc:
    # a useradd or package install replacing the real files cannot detach it).
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    account = f"{user}:x:{uid}:{uid}:openras test:{d}:/usr/sbin/nologin\n"
    prepare_etc(
        d, {"passwd": (passwd + account, 0o644), "group": (group + f"{user}:x:{uid}:\n", 0o644)}
    )
    script = (
        PRIVATE_ETC + "set -e\n"
        'private_etc "$D"\n'
        'printf "%s\\n%s\\n" "$PW" "$PW" | "$SMBPASSWD" -c "$D/smb.conf" -s -a "$U" >/dev/null\n'
        "unset PW\n"
        'exec "$SMBD" --foreground --no-process-group --debug-stdout --configfile="$D/smb.conf"\n'
    )
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "D": str(d),
        "PW": password,
        "U": user,
        "SMBPASSWD": SMBPASSWD,
        "SMBD": SMBD,
    }
    out = open(d / "smbd.out", "wb")
    proc = subprocess.Popen(
        [*wrap, UNSHARE, "--mount", "--propagation", "private", "/bin/sh", "-c", script],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    server = Smbd("127.0.0.1", port, share, user, password, share_dir, uid, d, proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"smbd exited with {proc.returncode}:\n{server.log()}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"smbd did not listen on {port}:\n{server.log()}")


@pytest.fixture
def smbd() -> Iterator[Smbd]:
    require(
        os.path.exists(SMBD) and os.path.exists(SMBPASSWD),
        "samba (smbd, smbpasswd) is not installed",
    )
    require(
        os.geteuid() == 0,
        "the smbd fixture needs root (a private mount namespace for its test user)",
    )
    base = Path(tempfile.mkdtemp(prefix="openras-smbd-"))
    os.chmod(base, 0o755)
    server = start_smbd(base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
