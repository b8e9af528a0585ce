"""Issue 14 item 8: a wheel of this checkout, installed into a clean venv, gives a working
client and daemon (``openras --version``, ``rasdial /?``, a daemon started on demand).

The wheel is built offline with the test venv's setuptools (``--no-build-isolation``); the
clean venv is Debian's python with nothing but that wheel installed. Its dependencies are the
test venv's (a .pth file names that site-packages), so the test needs no network, and
``pip check`` proves the wheel's declared requirements are all met by them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from peers import require

import openras

ROOT = Path(openras.__file__).resolve().parents[2]


def _run(argv: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd="/", **kw)  # type: ignore[call-overload]


@pytest.fixture
def clean_venv(tmp_path: Path) -> Path:
    require((ROOT / "pyproject.toml").exists(), "openras is not imported from a checkout")
    require(shutil.which("python3") is not None, "no system python3")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = tmp_path / "wheels"
    r = _run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(wheels), str(ROOT)),
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("openras-*.whl")
    venv = tmp_path / "venv"
    r = _run(["/usr/bin/python3", "-m", "venv", str(venv)], env)
    require(r.returncode == 0, f"python3 -m venv failed: {r.stderr}")
    site = Path(
        _run(
            [
                str(venv / "bin/python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            env,
        ).stdout.strip()
    )
    # The dependencies: the test venv's site-packages, after the clean venv's own.
    (site / "zz_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    r = _run([str(venv / "bin/pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)], env)
    assert r.returncode == 0, r.stderr
    return venv


def test_wheel_gives_a_working_client_and_daemon(clean_venv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPENRAS_NO_AUTOSTART")}
    env["OPENRAS_HOME"] = str(home)
    bin_ = clean_venv / "bin"
    r = _run([str(bin_ / "python"), "-c", "import openras; print(openras.__file__)"], env)
    assert r.stdout.startswith(str(clean_venv)), r.stdout  # the wheel's copy, not the checkout
    # The wheel carries the PPP data path's C framing, built from src/openras/ppp/_hdlc.c.
    r = _run([str(bin_ / "python"), "-c", "import openras.ppp._hdlc as c; print(c.__file__)"], env)
    assert r.returncode == 0 and r.stdout.startswith(str(clean_venv)), (r.stdout, r.stderr)
    r = _run([str(bin_ / "pip"), "check"], env)
    assert r.returncode == 0 and "No broken requirements found." in r.stdout, r.stdout
    r = _run([str(bin_ / "openras"), "--version"], env)
    assert r.returncode == 0 and r.stdout.strip() == f"openras (openras) {openras.__version__}"
    r = _run([str(bin_ / "rasdial"), "/?"], env)
    assert r.returncode == 0 and "usage: rasdial" in r.stdout and "/DISCONNECT" in r.stdout
    r = _run([str(bin_ / "openras"), "man", "rasdial"], env)
    assert r.stdout.startswith(".TH RASDIAL ")
    # A client starts the installed daemon on demand; it answers, then stops on request.
    r = _run([str(bin_ / "openras"), "status"], env)
    assert r.returncode == 0, r.stderr
    assert f"Daemon: per-user daemon at {home / 'openras.sock'}" in r.stdout
    pid = int(r.stdout.split("(pid ", 1)[1].split(",", 1)[0])
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cmdline = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        # The clean venv's interpreter runs the daemon (sys.executable of the installed CLI).
        assert Path(cmdline[0]).parent == bin_ and Path(exe).name.startswith("python")
        assert cmdline[1:4] == ["-m", "openras", "daemon"]
        r = _run([str(bin_ / "rasdial")], env)
        assert r.returncode == 0 and "No connections" in r.stdout
        r = _run([str(bin_ / "openras"), "daemon", "stop", "--json"], env)
        assert r.returncode == 0 and json.loads(r.stdout)["pid"] == pid
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
