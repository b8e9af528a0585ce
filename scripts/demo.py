"""The openras demo: dial a real local SSH link with live progress notifications, list it from a
second process, use it, hang up and wait for ERROR_INVALID_HANDLE.

Run as root after scripts/install.sh:  .venv/bin/python scripts/demo.py
It starts a private OpenSSH sshd on 127.0.0.1 (a test user that exists only in a private mount
namespace), an HTTP server on 127.0.0.1, and an openras daemon on a temporary OPENRAS_HOME;
everything it starts is stopped by PID at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.http import HttpServer
from peers.sshd import Sshd


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="openras-demo-"))
    os.environ["OPENRAS_HOME"] = str(home)
    from openras import win32ras
    from openras.client import Client
    from openras.codes import state_name

    sshd = Sshd().start()
    web = HttpServer().start()
    daemon_pid = 0
    try:
        say(f"real peers: sshd on 127.0.0.1:{sshd.port}, HTTP server on 127.0.0.1:{web.port}")
        with Client() as client:  # starts the daemon on demand
            daemon_pid = client.call("GET", "/v1/health")["pid"]
            client.call(
                "POST",
                "/v1/entries",
                json={
                    "name": "Demo SSH",
                    "lines": [
                        ["DEVICE", "ssh"],
                        ["PhoneNumber", f"127.0.0.1:{sshd.port}"],
                        ["SshKnownHosts", str(sshd.known_hosts)],
                        ["SocksPort", "0"],
                    ],
                },
            )
        say(f"daemon {daemon_pid} started on demand; entry 'Demo SSH' created")

        say("win32ras.Dial(None, None, ('Demo SSH', '', '', user, password, ''), callback)")
        done = threading.Event()
        started = time.monotonic()

        def callback(hrasconn: int, msg: int, state: int, error: int, extended: int) -> None:
            ms = (time.monotonic() - started) * 1000
            suffix = f"  error {error}: {win32ras.GetErrorString(error)}" if error else ""
            print(f"    {ms:7.1f} ms  handle {hrasconn}  {state_name(state)}{suffix}", flush=True)
            if state == win32ras.RASCS_Connected or error:
                done.set()

        handle, rc = win32ras.Dial(
            None, None, ("Demo SSH", "", "", sshd.user, sshd.password, ""), callback
        )
        print(f"    Dial returned at once: handle={handle} rc={rc}")
        if not done.wait(30) or win32ras.GetConnectStatus(handle)[0] != win32ras.RASCS_Connected:
            print("the dial did not connect", file=sys.stderr)
            return 1
        socks = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]
        print(f"    projection: SOCKS5 listener on 127.0.0.1:{socks}")

        say("a second process lists it: rasdial")
        subprocess.run([sys.executable, "-m", "openras.cli.rasdial"], check=False)
        say("and another: openras status")
        subprocess.run([sys.executable, "-m", "openras", "status"], check=False)
        say(f"curl through the link's SOCKS listener to http://127.0.0.1:{web.port}/")
        page = subprocess.run(
            ["curl", "-s", "--socks5", f"127.0.0.1:{socks}", web.url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        print(f"    got {page.stdout.strip()!r} (expected {web.token!r})")

        say(f"win32ras.HangUp({handle}), then poll GetConnectStatus until ERROR_INVALID_HANDLE")
        win32ras.HangUp(handle)
        polls = 0
        while True:
            try:
                state = win32ras.GetConnectStatus(handle)[0]
                polls += 1
            except win32ras.error as exc:
                print(
                    f"    after {polls} answer(s) ({state_name(state) if polls else '-'}): "
                    f"error {exc.winerror}: {exc.strerror}"
                )
                break
            time.sleep(0.005)
        say("the event stream of that handle (openras monitor shows it live)")
        with Client() as client:
            for e in client.call("GET", "/v1/events/log", params={"since": 0}):
                if e.get("handle") == handle:
                    print(
                        f"    #{e['seq']:<3} {e['kind']:<9} {e['state_name']:<26}"
                        f" error={e['error']}"
                        f"{'  notify=' + e['notify'] if e.get('notify') else ''}"
                    )
        say("demo complete")
        return 0
    finally:
        if daemon_pid:
            os.kill(daemon_pid, signal.SIGTERM)
            for _ in range(200):
                if not Path(f"/proc/{daemon_pid}").exists():
                    break
                time.sleep(0.05)
        web.cleanup()
        sshd.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
