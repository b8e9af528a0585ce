"""An openras daemon process for tests and benchmarks (started and stopped by PID)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PYTHON = sys.executable


class Daemon:
    """An openras daemon on its own OPENRAS_HOME (a 0755 directory so other uids reach the
    socket)."""

    def __init__(
        self, config: str = "", netns: str | None = None, wrap: tuple[str, ...] = ()
    ) -> None:
        # netns: run the daemon inside that network namespace (``ip netns exec``, which execs, so
        # proc.pid is the daemon itself); its Unix socket is still reached from anywhere.
        # wrap: a command that execs the daemon (e.g. setpriv dropping a capability).
        self.netns = netns
        self.wrap = tuple(wrap)
        self.home = Path(tempfile.mkdtemp(prefix="openras-test-"))
        os.chmod(self.home, 0o755)
        if config:
            (self.home / "openras.toml").write_text(config)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["OPENRAS_HOME"] = str(self.home)
        env.pop("PYTHONPATH", None)
        # English output whatever the runner's locale (tests of other languages set their own).
        for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "OPENRAS_LANG"):
            env.pop(var, None)
        env["LANG"] = "C.UTF-8"
        # The daemon and CLI children run the openras this test process imported (a worktree's
        # src when PYTHONPATH points at it), not whatever the venv's editable install names.
        import openras

        src = str(Path(openras.__file__).resolve().parents[1])
        if (Path(sys.prefix) / "lib").resolve() not in Path(src).parents:
            env["PYTHONPATH"] = src
        return env

    @property
    def socket(self) -> Path:
        return self.home / "openras.sock"

    def start(self) -> Daemon:
        log = open(self.home / "daemon.log", "ab")
        argv = [*self.wrap, PYTHON, "-m", "openras", "daemon", "-v"]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        self.proc = subprocess.Popen(
            argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 20
        from openras.client.transport import socket_answers

        while time.monotonic() < deadline:
            if socket_answers(str(self.socket)):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"daemon did not start:\n{self.log()}")

    def log(self) -> str:
        try:
            return (self.home / "daemon.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self) -> Any:
        from openras.client import Client

        return Client(home=str(self.home), autostart=False)

    def run(
        self, argv: list[str], uid: int | None = None, timeout: float = 60, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a program (e.g. the CLI) as a separate process, optionally as another uid."""
        kwargs: dict[str, Any] = {}
        env = self.env
        if uid is not None:
            kwargs.update(user=uid, group=uid, extra_groups=[])
            # A uid without a passwd entry: give it a name and a home that exists.
            env = {**env, "USER": f"u{uid}", "LOGNAME": f"u{uid}", "HOME": "/tmp"}
        return subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            cwd="/",
            **kwargs,
        )

    def python(
        self, code: str, uid: int | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.run([PYTHON, "-c", code], uid=uid, timeout=timeout)

    def python_json(self, code: str, uid: int | None = None, timeout: float = 60) -> Any:
        result = self.python(code, uid=uid, timeout=timeout)
        assert result.returncode == 0, result.stderr + result.stdout
        return json.loads(result.stdout.strip().splitlines()[-1])

    def cli(
        self, *args: str, uid: int | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.run([PYTHON, "-m", "openras", *args], uid=uid, timeout=timeout)

    def rasdial(
        self, *args: str, uid: int | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.run([PYTHON, "-m", "openras.cli.rasdial", *args], uid=uid, timeout=timeout)

    def cleanup(self) -> None:
        self.stop()
        self._stop_strays()
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)

    def _stop_strays(self, timeout: float = 20) -> None:
        """Daemons a client autostarted in this home that the test did not stop (it failed
        first, say): SIGTERM, so that no client's event hub takes it for a crash."""
        want = f"OPENRAS_HOME={self.home}".encode()
        strays = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if b"openras\0daemon" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                    continue
                if want not in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    continue
                os.kill(int(entry), signal.SIGTERM)
                strays.append(int(entry))
            except OSError:
                continue
        deadline = time.monotonic() + timeout
        for pid in strays:
            while time.monotonic() < deadline and running(pid):
                time.sleep(0.05)


def running(pid: int) -> bool:
    """Alive and not a zombie (a daemon's starter, a client, reaps it later)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
