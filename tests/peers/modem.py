"""A scripted AT modem on a pty, in its own process (started and stopped by PID).

The modem answers ``OK`` to ``ATZ``, ``ATE0``, ``ATH`` and any other ``AT`` command (echoing
commands until ``ATE0``, like a real modem after reset), and answers ``ATD…`` as its mode
says:

- ``connect``: ``CONNECT 115200``, then bridges the line to a fresh slirp (``Slirp.prepare()``'s
  runner, so slirp runs in the test's namespace with only ``lo``) on a socketpair. ``+++``
  between two guard times returns to command mode with the call up; ``ATH`` then ends slirp.
  slirp exiting drops the call: ``NO CARRIER``.
- ``busy``, ``nocarrier``, ``nodialtone``, ``noanswer``, ``error``: that result code.
- ``silent``: nothing after ``ATD`` (the dialer's time-out decides); ``dead``: nothing at all.

Every command line received is appended to ``DIR/modem.log`` for the test to read.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from .procs import stop_tree

MODES = ("connect", "busy", "nocarrier", "nodialtone", "noanswer", "error", "silent", "dead")

MODEM = r"""
import os, select, socket, subprocess, sys, time, tty

link, mode, runner, log_path, guard = (
    sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
)
master, slave = os.openpty()
tty.setraw(slave)
os.symlink(os.ttyname(slave), link)
log = open(log_path, "a", buffering=1)
print("ready", flush=True)
RESULTS = {"busy": "BUSY", "nocarrier": "NO CARRIER", "nodialtone": "NO DIALTONE",
           "noanswer": "NO ANSWER", "error": "ERROR"}
echo = True
line = b""
slirp = None
sock = None


def say(text):
    os.write(master, b"\r\n" + text.encode() + b"\r\n")


def end_call():
    global slirp, sock
    if slirp is not None:
        slirp.kill()  # our own child, by its PID
        slirp.wait()
        slirp = None
    if sock is not None:
        sock.close()
        sock = None


def data_mode():
    # Bridge the line and slirp until slirp exits (NO CARRIER) or +++ (back to command mode).
    last_rx = time.monotonic()
    while True:
        ready, _, _ = select.select([master, sock], [], [])
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                end_call()
                say("NO CARRIER")
                return
            os.write(master, data)
        if master in ready:
            data = os.read(master, 65536)
            now = time.monotonic()
            if data == b"+++" and now - last_rx >= guard:
                quiet, _, _ = select.select([master], [], [], guard)
                if not quiet:
                    say("OK")
                    return
                data += os.read(master, 65536)
            last_rx = now
            sock.sendall(data)


while True:
    ready, _, _ = select.select([master], [], [])
    try:
        data = os.read(master, 4096)
    except OSError:  # nobody holds the slave side open right now: keep waiting
        time.sleep(0.05)
        continue
    if mode == "dead":
        continue
    if echo:
        os.write(master, data)
    line += data
    while b"\r" in line:
        raw, line = line.split(b"\r", 1)
        command = raw.strip().decode("ascii", "replace").upper()
        if "AT" in command:  # like a Hayes modem, ignore what precedes "AT" (a stray "+++")
            command = command[command.index("AT"):]
        if not command:
            continue
        log.write(command + "\n")
        if not command.startswith("AT"):
            say("ERROR")
        elif command == "ATZ":
            echo = True
            say("OK")
        elif command == "ATE0":
            echo = False
            say("OK")
        elif command.startswith("ATH"):
            end_call()
            say("OK")
        elif command.startswith("ATD"):
            if mode == "connect":
                a, b = socket.socketpair()
                slirp = subprocess.Popen([runner], stdin=b, stdout=b, stderr=log,
                                         start_new_session=True)
                b.close()
                sock = a
                say("CONNECT 115200")
                line = b""
                data_mode()
            elif mode in RESULTS:
                say(RESULTS[mode])
            # silent: say nothing
        else:
            say("OK")
"""


class FakeModem:
    """Attributes: mode, dir, port (the pty link a dialer opens), pid; ``commands()`` read back."""

    def __init__(self, mode: str, runner: Path | None = None, guard: float = 0.1) -> None:
        assert mode in MODES, mode
        assert mode != "connect" or runner is not None, "connect mode needs a slirp runner"
        self.mode = mode
        self.runner = runner
        self.guard = guard
        self.dir = Path(tempfile.mkdtemp(prefix="openras-modem-"))
        os.chmod(self.dir, 0o755)
        self.port = self.dir / "modem.pty"
        self.log_path = self.dir / "modem.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 10.0) -> FakeModem:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                MODEM,
                str(self.port),
                self.mode,
                str(self.runner or ""),
                str(self.log_path),
                str(self.guard),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready or self.proc.stdout.readline().strip() != b"ready":
            self.stop()
            raise RuntimeError("the fake modem did not start")
        return self

    def commands(self) -> list[str]:
        try:
            return [c for c in self.log_path.read_text().splitlines() if c.startswith("AT")]
        except OSError:
            return []

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc)  # the modem and the slirp it may have started
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> FakeModem:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.cleanup()
