"""Processes: the dialer exits, another lists and uses the tunnel, a third hangs up; rasdial's
password prompt; the credentials stay out of command lines, environments, files and logs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .openvpn_lab import VpnLab, wait_for

DIAL = """
import json, sys
from openras import win32ras
user, password = sys.stdin.read().split("\\n")[:2]
handle, code = win32ras.Dial(None, None, ("Office VPN", "", "", user, password, ""), None)
print(json.dumps([int(handle), code]))
"""
ENUM = """
import json
from openras import win32ras
print(json.dumps([list(c) for c in win32ras.EnumConnections()]))
"""


def test_dialer_exits_another_lists_and_uses_a_third_hangs_up(vpn: VpnLab) -> None:
    vpn.entry()
    root = tempfile.mkdtemp(prefix="openras-ovpn-http-")
    Path(root, "index.html").write_text("through the tunnel")
    port = vpn.server.http_server(root)

    dialer = vpn.daemon.run(
        [vpn.daemon_python(), "-c", DIAL], input=f"{vpn.server.user}\n{vpn.server.password}\n"
    )
    assert dialer.returncode == 0, dialer.stderr
    handle, code = json.loads(dialer.stdout.strip().splitlines()[-1])
    assert code == 0 and handle > 0  # the dialing process has exited now

    listed = vpn.daemon.python_json(ENUM)
    assert [c[0] for c in listed] == [handle]
    assert listed[0][1] == "Office VPN" and listed[0][2] == "vpn"
    assert listed[0][3].startswith("openvpn:192.0.2.1")
    assert vpn.http_get(f"http://10.8.0.1:{port}/") == "through the tunnel"

    hung = vpn.daemon.rasdial("Office VPN", "/DISCONNECT")
    assert hung.returncode == 0, hung.stdout + hung.stderr
    assert vpn.ras().wait_gone(handle, 20)
    wait_for(lambda: vpn.client_openvpns() == [], 10)


def test_rasdial_prompts_for_the_password(vpn: VpnLab) -> None:
    vpn.entry()
    result = vpn.daemon.run(
        [vpn.daemon_python(), "-m", "openras.cli.rasdial", "Office VPN", vpn.server.user, "*"],
        input=vpn.server.password + "\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Office VPN" in result.stdout
    assert vpn.server.password not in result.stdout + result.stderr
    assert len(vpn.client_openvpns()) == 1
    assert vpn.daemon.rasdial("Office VPN", "/DISCONNECT").returncode == 0
    wait_for(lambda: vpn.client_openvpns() == [], 10)


def test_credentials_stay_secret(vpn: VpnLab) -> None:
    vpn.entry()
    handle, notes = vpn.dial()
    assert notes[-1].state.name == "Connected"
    user, password = vpn.server.user.encode(), vpn.server.password.encode()
    (pid,) = vpn.client_openvpns()
    for part in ("cmdline", "environ"):
        data = Path(f"/proc/{pid}/{part}").read_bytes()
        assert password not in data and user not in data, part
    with vpn.daemon.client() as c:
        api = json.dumps(
            [
                c.call("GET", f"/v1/connections/{handle}"),
                c.call("GET", "/v1/connections", params={"full": 1, "statistics": 1}),
                c.call("GET", "/v1/events/log", params={"since": 0, "limit": 10000}),
            ]
        )
    assert vpn.server.password not in api
    # Nothing the daemon wrote (database, log, sockets' directory, resolver files) holds them.
    for path in vpn.daemon.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert password not in data, path
            assert (
                user not in data
                or path.suffix in (".db", ".sqlite")
                or path.name.startswith("openras.db")
            ), path
    vpn.hangup(handle)
