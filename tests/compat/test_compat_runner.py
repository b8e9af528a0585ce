"""The no-edit runner: a Windows program written for pywin32 runs unchanged under
``python -m openras.compat`` / ``openras-python``, against a real daemon, sshd and smbd."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from harness import PYTHON
from ras_helpers import ssh_entry

PROGRAM = r"""
import sys

import pywintypes
import win32netcon
import win32ras
import win32wnet

SSH_USER, SSH_PASSWORD = {ssh_user!r}, {ssh_password!r}
UNC, SMB_USER, SMB_PASSWORD = {unc!r}, {smb_user!r}, {smb_password!r}

handle, rc = win32ras.Dial(None, None, ("lab", "", "", SSH_USER, SSH_PASSWORD, ""), None)
if rc:
    win32ras.HangUp(handle)
    raise SystemExit("dial failed: %d %s" % (rc, win32ras.GetErrorString(rc)))
print("DIALED", handle, win32ras.GetConnectStatus(handle)[0] == win32ras.RASCS_Connected)
for conn in win32ras.EnumConnections():
    print("RASCONN", conn[1], conn[2])

# The three-argument legacy form would take the default credentials: use the long legacy form.
win32wnet.WNetAddConnection2(win32netcon.RESOURCETYPE_DISK, "Q:", UNC, None, SMB_USER, SMB_PASSWORD)
print("MAPPED", win32wnet.WNetGetConnection("Q:"))
print("UNIVERSAL", win32wnet.WNetGetUniversalName("Q:\\docs\\a.txt"))
h = win32wnet.WNetOpenEnum(win32netcon.RESOURCE_CONNECTED, win32netcon.RESOURCETYPE_ANY, 0, None)
for r in win32wnet.WNetEnumResource(h):
    print("NETUSE", r.lpLocalName, r.lpRemoteName, r.lpProvider)
win32wnet.WNetCloseEnum(h)
win32wnet.WNetCancelConnection2("Q:", 0, True)
try:
    win32wnet.WNetGetConnection("Q:")
except pywintypes.error as exc:
    print("UNMAPPED", exc.winerror, exc.funcname)
win32ras.HangUp(handle)
print("HUNGUP", sys.argv[1:])
"""


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")


def test_windows_program_dials_lists_maps_and_hangs_up_unchanged(
    daemon: Any, sshd: Any, smbd: Any, tmp_path: Path
) -> None:
    ssh_entry(daemon, sshd)
    program = tmp_path / "netjob.py"
    program.write_text(
        PROGRAM.format(
            ssh_user=sshd.user,
            ssh_password=sshd.password,
            unc=smbd.unc,
            smb_user=smbd.user,
            smb_password=smbd.password,
        )
    )
    program.chmod(0o600)
    run = daemon.run([PYTHON, "-m", "openras.compat", str(program), "one", "two"], timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout + daemon.log()
    lines = run.stdout.splitlines()
    handle = int(lines[0].split()[1])
    assert lines[0] == f"DIALED {handle} True"
    assert "RASCONN lab ssh" in lines
    assert f"MAPPED {smbd.unc}" in lines
    assert f"UNIVERSAL {smbd.unc}\\docs\\a.txt" in lines
    assert f"NETUSE Q: {smbd.unc} openras SMB" in lines
    assert "UNMAPPED 2250 WNetGetConnection" in lines
    assert lines[-1] == "HUNGUP ['one', 'two']"
    with daemon.client() as c:
        assert c.call("GET", "/v1/connections") == []
        assert c.call("GET", "/v1/net/connections")["connections"] == []


def test_runner_leaves_real_top_level_names_alone(tmp_path: Path) -> None:
    """Outside the runner the pywin32 names do not resolve (nothing shadows a real pywin32);
    inside, each is openras's module, and a missing program is a clear error."""
    outside = subprocess.run(
        [sys.executable, "-c", "import win32wnet"], capture_output=True, text=True, env=_env()
    )
    assert outside.returncode != 0 and "No module named 'win32wnet'" in outside.stderr
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import win32ras, win32wnet, pywintypes, win32netcon, winnetwk, win2kras\n"
        "import openras.win32wnet, openras.win32ras, openras.pywintypes\n"
        "assert win32wnet is openras.win32wnet and win32ras is openras.win32ras\n"
        "assert pywintypes.error is win32wnet.error is win32ras.error\n"
        "assert openras.win32wnet.__spec__.name == 'openras.win32wnet'\n"
        "assert win32netcon.RESOURCETYPE_DISK == winnetwk.RESOURCETYPE_DISK == 1\n"
        "import sys; print(__name__, sys.argv)\n"
    )
    inside = subprocess.run(
        [sys.executable, "-m", "openras.compat", str(probe), "x"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == f"__main__ [{str(probe)!r}, 'x']"
    missing = subprocess.run(
        [sys.executable, "-m", "openras.compat", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert missing.returncode == 2 and "can't open file" in missing.stderr


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src, "OPENRAS_NO_AUTOSTART": "1"}
