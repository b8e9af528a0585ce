"""The OpenVPN device against a real OpenVPN server in a network namespace
(tests/peers/openvpn.py)."""

from __future__ import annotations

import tempfile

from .openvpn_lab import OPENVPN_STATES, VpnLab, names, wait_for


def test_lifecycle_traffic_projection_and_nothing_left(vpn: VpnLab) -> None:
    vpn.entry()
    root = tempfile.mkdtemp(prefix="openras-ovpn-http-")
    token = "token-" + vpn.server.dir.name
    with open(f"{root}/index.html", "w") as f:
        f.write(token)
    port = vpn.server.http_server(root)

    handle, notes = vpn.dial()
    # Every state once, in order, ending in Connected, with no error.
    assert names(notes) == OPENVPN_STATES, notes
    assert all(n.error == 0 for n in notes), notes

    status = vpn.status(handle)
    assert status is not None
    device = status.device
    ifname = device.interface
    assert ifname and ifname in vpn.links()
    assert device.local_address.startswith("10.8.0.")
    assert device.dns == ("10.8.0.53",)
    assert device.default_route is False
    assert "10.9.0.0/24" in device.routes
    resolv = device.resolv_conf
    assert resolv and open(resolv).read().count("nameserver 10.8.0.53") == 1
    # The API never shows the password.
    assert vpn.server.password not in str(status)

    with vpn.daemon.client() as c:
        proj = c.call("GET", f"/v1/connections/{handle}/projection/{0x8021}")
    assert proj["szIpAddress"] == device.local_address
    assert proj["szServerIpAddress"] == "10.8.0.1"
    assert proj["szDnsAddress"] == "10.8.0.53"

    # TCP through the tunnel to the server namespace (10.8.0.1 exists only at the far end).
    assert vpn.http_get(f"http://10.8.0.1:{port}/") == token

    pid = device.extra["openvpn_pid"]
    vpn.hangup(handle)
    assert vpn.client_openvpns() == []
    assert pid not in vpn.server.netns_pids(vpn.server.client_ns)
    wait_for(lambda: ifname not in vpn.links(), 5)
    assert "10.9.0.0" not in vpn.routes()
    assert vpn.resolv_files() == []
