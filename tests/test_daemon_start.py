"""Clients start the daemon on demand; racing clients end up with exactly one daemon."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATUS = (
    "import json; from openras.client import Client; "
    "print(json.dumps(Client().call('GET', '/v1/health')))"
)


def test_racing_clients_start_exactly_one_daemon() -> None:
    home = Path(tempfile.mkdtemp(prefix="openras-autostart-"))
    env = {**os.environ, "OPENRAS_HOME": str(home)}
    env.pop("OPENRAS_NO_AUTOSTART", None)
    pids: set[int] = set()
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", STATUS], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        for p in procs:
            out, _ = p.communicate(timeout=60)
            assert p.returncode == 0
            pids.add(json.loads(out)["pid"])
        assert len(pids) == 1
        (pid,) = pids
        # The daemon outlives the clients that started it and serves the next one.
        nxt = subprocess.run(
            [sys.executable, "-c", STATUS], env=env, capture_output=True, text=True, timeout=60
        )
        assert json.loads(nxt.stdout)["pid"] == pid
        metrics = subprocess.run(
            [
                sys.executable,
                "-c",
                "from openras.client import Client; c = Client(); c._client();"
                " print(c._http.get('/metrics').text)",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert (
            'openras_connections{phase="connected"} 0' in metrics and "openras_event_seq" in metrics
        )
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)
        shutil.rmtree(home, ignore_errors=True)


def test_no_autostart_reports_711(tmp_path: Path) -> None:
    env = {**os.environ, "OPENRAS_HOME": str(tmp_path), "OPENRAS_NO_AUTOSTART": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "openras", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 711 % 256 and "711" in result.stderr
    assert not (tmp_path / "openras.sock").exists()
