"""A real PPP server: slirp (``slirp-fullbolt``; plain ``slirp`` exits at once on 64-bit).

slirp NATs the link to any address it is asked for, so every slirp process runs inside a
fresh network namespace that has nothing but ``lo``: 10.0.2.2 on the link reaches that
namespace's 127.0.0.1, and nothing else is reachable. socat hands each connection to a new
slirp process:

- ``transport="tcp"`` (default): socat listens on the host's 127.0.0.1:port, so a client
  (the openras daemon) dials it from the host; each accepted connection runs
  ``ip netns exec NS slirp-fullbolt ppp …``. With ``listen_in_netns=True`` socat itself
  listens inside the namespace instead (clients must then run in it, see ``netns_cmd``).
- ``transport="pty"``: ``socat PTY,link=DIR/ppp.pty,raw,echo=0,wait-slave EXEC:…``; one
  client, one session (socat exits when the client closes the pty).

Authentication: ``auth="pap"`` (``auth +pap``, ``$HOME/.pap-secrets``) or ``auth="chap"``
(``auth +chap``, ``$HOME/.chap-secrets``; CHAP-MD5, tried here: a good response gets
Success "Welcome to <hostname>.", a bad one Failure then LCP Terminate-Request).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from . import free_port, have_program, require
from .procs import signal_pids, stop_tree

SLIRP = "slirp-fullbolt"
CLONE_NEWNET = 0x40000000
DEFAULT_DNS = "192.0.2.53"  # TEST-NET-1: never the host's resolver, and never reachable


def slirp_available() -> None:
    """Skip (or fail in CI) when this machine cannot run the slirp peer."""
    require(os.geteuid() == 0, "the slirp peer needs root (network namespaces)")
    for program in (SLIRP, "socat", "ip"):
        require(
            have_program(program), f"{program} is missing (Debian packages slirp, socat, iproute2)"
        )


class Slirp:
    """slirp behind socat, slirp itself inside a network namespace with only ``lo``.

    Attributes: netns, dir, home, host, port (tcp), pty (pty path), auth, user, password,
    dns, pid (socat's); ``netns_popen(argv)`` starts a helper in the namespace (e.g. a
    server for 10.0.2.2:PORT), stopped with the peer.
    """

    def __init__(
        self,
        transport: Literal["tcp", "pty"] = "tcp",
        auth: Literal["pap", "chap"] | None = None,
        user: str = "rasuser",
        password: str | None = None,
        dns: str = DEFAULT_DNS,
        listen_in_netns: bool = False,
        options: Sequence[str] = (),
    ) -> None:
        self.transport = transport
        self.auth = auth
        self.user = user
        self.password = password if password is not None else "pw-" + secrets.token_hex(8)
        self.dns = dns
        self.listen_in_netns = listen_in_netns
        self.options = list(options)
        self.netns = f"openras-test-{secrets.token_hex(4)}"
        self.dir = Path(tempfile.mkdtemp(prefix="openras-slirp-"))
        os.chmod(self.dir, 0o755)  # the pty link is reached by clients running as other uids
        self.home = self.dir / "home"
        self.host = "127.0.0.1"
        self.port = 0
        self.pty = self.dir / "ppp.pty"
        self.proc: subprocess.Popen[bytes] | None = None
        self._helpers: list[subprocess.Popen[Any]] = []
        self._netns_made = False

    # -- set-up -----------------------------------------------------------------------

    def _write_home(self) -> None:
        self.home.mkdir(exist_ok=True)
        (self.home / ".slirprc").write_text(f"dns {self.dns}\n")
        secret = f"{self.user} * {self.password}\n"  # pppd's format; no address field
        for name in (".pap-secrets", ".chap-secrets"):
            (self.home / name).write_text(secret)
            os.chmod(self.home / name, 0o600)

    def slirp_argv(self) -> list[str]:
        argv = [SLIRP, "ppp"]
        if self.auth is not None:
            argv += ["auth", f"+{self.auth}"]
        return argv + self.options

    def netns_cmd(self, argv: Sequence[str]) -> list[str]:
        """argv wrapped to run inside the namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]

    def _write_runner(self) -> Path:
        # socat's EXEC splits on spaces without shell quoting: give it one script path.
        inner = [
            *([] if self.listen_in_netns else self.netns_cmd([])),
            "env",
            "-i",
            f"HOME={self.home}",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            *self.slirp_argv(),
        ]
        script = self.dir / "run-slirp"
        script.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in inner) + "\n")
        os.chmod(script, 0o755)
        return script

    def _make_netns(self) -> None:
        made = subprocess.run(
            ["ip", "netns", "add", self.netns], capture_output=True, text=True, timeout=30
        )
        require(made.returncode == 0, f"cannot create a network namespace: {made.stderr.strip()}")
        self._netns_made = True
        subprocess.run(
            ["ip", "-n", self.netns, "link", "set", "lo", "up"],
            check=True,
            capture_output=True,
            timeout=30,
        )

    # -- life cycle -------------------------------------------------------------------

    def prepare(self) -> Path:
        """The namespace, HOME and runner script without socat, for a caller that runs slirp on
        descriptors of its own (the fake modem's data mode); returns the runner's path.
        ``cleanup()`` still removes everything (slirps are found by the namespace's PIDs)."""
        slirp_available()
        self._write_home()
        self._make_netns()
        return self._write_runner()

    def start(self, timeout: float = 20.0) -> Slirp:
        slirp_available()
        self._write_home()
        self._make_netns()
        runner = self._write_runner()
        last_log = ""
        for _attempt in range(5):  # socat cannot inherit a socket: retry when the port got taken
            if self.transport == "pty":
                address = f"PTY,link={self.pty},raw,echo=0,wait-slave"
                ready = "PTY is "
            else:
                # Inside a namespace of our own no other program listens: any port will do.
                self.port = 47001 if self.listen_in_netns else free_port()
                # nodelay: without it Nagle holds slirp's small segments back (bulk 0.8 → 2.6 MB/s).
                address = f"TCP-LISTEN:{self.port},bind={self.host},reuseaddr,fork,nodelay"
                ready = f"listening on AF=2 {self.host}:{self.port}"
            argv = ["socat", "-d", "-d", address, f"EXEC:{runner}"]
            if self.listen_in_netns:
                argv = self.netns_cmd(argv)
            logf = open(self.dir / "socat.log", "wb")  # handed to the child, closed here
            try:
                self.proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            finally:
                logf.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                last_log = self.log()
                if ready in last_log and (self.transport != "pty" or os.path.lexists(self.pty)):
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.005)
            self._stop_processes()
            if "Address already in use" not in last_log:
                break
        self.cleanup()
        raise RuntimeError(f"socat/slirp did not start:\n{last_log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the slirp peer is not running"
        return self.proc.pid

    def log(self) -> str:
        """socat's log; slirp's banner and messages (stderr) land here too."""
        try:
            return (self.dir / "socat.log").read_text(errors="replace")
        except OSError:
            return ""

    def netns_popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start argv inside the namespace, in its own session; it is stopped with the peer."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc: subprocess.Popen[Any] = subprocess.Popen(
            self.netns_cmd(argv), start_new_session=True, **kwargs
        )
        self._helpers.append(proc)
        return proc

    def netns_socket(
        self, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM
    ) -> socket.socket:
        """A socket created inside the namespace (bind or connect it there: e.g. a server for
        10.0.2.2).

        The network namespace belongs to the thread (setns), so a short-lived thread joins
        the namespace and makes the socket; the socket stays in that namespace for good.
        Python 3.11 has no os.setns, hence libc.
        """
        made: dict[str, Any] = {}

        def work() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err))
                made["socket"] = socket.socket(family, type)
            except BaseException as e:
                made["error"] = e
            finally:
                os.close(fd)

        thread = threading.Thread(target=work, name=f"setns-{self.netns}")
        thread.start()
        thread.join()
        if "error" in made:
            raise made["error"]
        return made["socket"]

    def netns_pids(self) -> list[int]:
        """Every process in the namespace (the slirps, helpers; socat too if it listens there)."""
        if not self._netns_made:
            return []
        out = subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, timeout=30
        )
        return [int(p) for p in out.stdout.split() if p.isdigit()]

    def _stop_processes(self) -> None:
        for helper in self._helpers:
            stop_tree(helper)
        self._helpers.clear()
        if self.proc is not None:
            stop_tree(self.proc)  # socat, its per-connection children and their slirps
            self.proc = None
        # Anything still in the namespace (e.g. a slirp whose socat child died first), by PID.
        for _ in range(50):
            pids = self.netns_pids()
            if not pids:
                break
            signal_pids(pids, signal.SIGKILL)
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop_processes()
        if self._netns_made:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=30)
            self._netns_made = False

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Slirp:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.cleanup()
