"""PPP over TCP to a real slirp (in a namespace with only lo; the daemon runs in it too).

States, projection, the TUN interface and data through it, authentication, link loss
(629 on EOF, 829 on a silent peer) and RedialOnLinkFailure.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from openras.codes import RASCS
from openras.codes.states import RASP_PppIp, RASP_PppIpv6, RASP_PppLcp

from .lab import KEEPALIVE_BOUND, PPP_AUTH_STATES, PPP_STATES, Lab, names, slirp_pids, wait_for


def connect(lab: Lab, **keys: Any) -> int:
    lab.entry(**keys)
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    assert all(n.error == 0 for n in notes)
    return handle


def test_tcp_dial_connects_with_slirps_address_and_dns(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    handle = connect(lab)
    ras = lab.ras()
    ip = ras.projection(handle, RASP_PppIp)
    assert ip["dwError"] == 0 and ip["szIpAddress"] == "10.0.2.15"
    assert ip["szServerIpAddress"] == "10.0.2.2"
    assert ip["szDnsAddress"] == lab.slirp.dns
    lcp = ras.projection(handle, RASP_PppLcp)
    assert lcp["dwAuthenticationProtocol"] == 0 and lcp["dwServerMru"] == 1500
    assert lcp["dwOptions"] == 0x3  # slirp acks PFC and ACFC
    v6 = ras.projection(handle, RASP_PppIpv6)
    assert v6["dwError"] != 0  # slirp does not speak IPV6CP
    status = ras.status(handle)
    assert status.state == RASCS.Connected and status.device_type == "tcp"
    device = status.device
    assert device.interface == "lab" and device.local_address == "10.0.2.15"
    assert device.dns == (lab.slirp.dns,)
    resolv = Path(device.resolv_conf)
    assert resolv.read_text().splitlines()[-1] == f"nameserver {lab.slirp.dns}"
    assert resolv.parent == lab.daemon.home / "resolv"
    lab.hangup(handle)
    assert not resolv.exists()


def test_data_through_the_tun_interface_and_cleanup_on_hangup(
    lab_factory: Any, tmp_path: Path
) -> None:
    lab = lab_factory("tcp")
    token = os.urandom(16).hex()
    port = lab.serve_file(tmp_path, "index.html", token.encode())
    handle = connect(lab)
    links, routes = lab.links(), lab.routes()
    assert " lab: " in links and "POINTOPOINT" in links
    assert "10.0.2.2 dev lab" in routes and "default" not in routes  # no IpPrioritizeRemote
    assert "dev lab" in lab.run(["ip", "route", "get", "10.0.2.2"]).stdout
    page = lab.run(["curl", "-s", "--max-time", "15", f"http://10.0.2.2:{port}/"])
    assert page.stdout == token, (page, lab.daemon.log())
    device = lab.ras().status(handle).device
    assert device.extra["tun_rx_packets"] > 0 and device.extra["tun_tx_packets"] > 0
    lab.hangup(handle)
    assert " lab: " not in lab.links() and "lab" not in lab.routes()
    assert lab.run(["curl", "-s", "--max-time", "2", f"http://10.0.2.2:{port}/"]).stdout == ""


def test_default_route_only_with_ip_prioritize_remote(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    handle = connect(lab, IpPrioritizeRemote=1)
    assert "default dev lab" in lab.routes()
    assert lab.ras().status(handle).device.default_route is True
    lab.hangup(handle)
    assert "default" not in lab.routes()


@pytest.mark.parametrize("method", ["pap", "chap"])
def test_authentication_required_by_slirp(lab_factory: Any, method: str) -> None:
    lab = lab_factory("tcp", auth=method)
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == PPP_AUTH_STATES, (notes, lab.daemon.log(), lab.slirp.log())
    lcp = lab.ras().projection(handle, RASP_PppLcp)
    if method == "pap":
        assert (lcp["dwAuthenticationProtocol"], lcp["dwAuthenticationData"]) == (0xC023, 0)
    else:
        assert (lcp["dwAuthenticationProtocol"], lcp["dwAuthenticationData"]) == (0xC223, 5)
    assert lab.ras().projection(handle, RASP_PppIp)["szIpAddress"] == "10.0.2.15"
    lab.hangup(handle)

    handle, notes = lab.dial(password="wrong-" + lab.slirp.password)
    assert names(notes) == [*PPP_AUTH_STATES[:5], "Authenticate"], notes
    assert (notes[-1].state, notes[-1].error) == (RASCS.Authenticate, 691)
    assert lab.ras().status(handle).error == 691
    lab.hangup(handle)


def test_pap_refused_by_auth_restrictions(lab_factory: Any) -> None:
    lab = lab_factory("tcp", auth="pap")
    lab.entry(AuthRestrictions=0x20 | 0x200)  # CHAP-MD5 and MS-CHAPv2 only: no clear-text password
    handle, notes = lab.dial()
    # We refuse PAP; slirp then terminates LCP before the link is projected.
    assert notes[-1].error == 734 and notes[-1].state == RASCS.AuthProject, notes
    lab.hangup(handle)


def test_killing_slirp_reports_remote_disconnection(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    handle = connect(lab)
    [pid] = slirp_pids(lab)
    os.kill(pid, signal.SIGKILL)
    status = wait_for(
        lambda: (s := lab.status(handle)) and s.state == RASCS.Disconnected and s,
        timeout=KEEPALIVE_BOUND,
    )
    assert status.error == 629, status  # socat closes the TCP stream: the transport ends
    assert " lab: " not in lab.links()
    lab.hangup(handle)


def test_silent_peer_is_detected_by_echo_keepalive(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    handle = connect(lab)
    [pid] = slirp_pids(lab)
    os.kill(pid, signal.SIGSTOP)  # alive but mute: only LCP echoes can tell
    try:
        status = wait_for(
            lambda: (s := lab.status(handle)) and s.state == RASCS.Disconnected and s,
            timeout=KEEPALIVE_BOUND + 2,
        )
        assert status.error == 829, status
        assert " lab: " not in lab.links()
    finally:
        os.kill(pid, signal.SIGKILL)
    lab.hangup(handle)


def test_redial_on_link_failure_brings_the_link_back(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    handle = connect(lab, RedialOnLinkFailure=1, RedialAttempts=3, RedialSeconds=1)
    [pid] = slirp_pids(lab)
    os.kill(pid, signal.SIGKILL)  # socat keeps listening and forks a new slirp for the redial
    wait_for(
        lambda: (s := lab.status(handle)) and s.state == RASCS.Disconnected, timeout=KEEPALIVE_BOUND
    )
    status = wait_for(
        lambda: (s := lab.status(handle)) and s.state == RASCS.Connected and s, timeout=30
    )
    assert status.error == 0 and status.device.interface == "lab"
    new = slirp_pids(lab)
    assert new and pid not in new
    with lab.daemon.client() as c:
        events = [
            e
            for e in c.call("GET", "/v1/events/log", params={"since": 0, "limit": 1000})
            if e.get("handle") == handle
        ]
    kinds = [(e["kind"], e.get("state_name"), e.get("error")) for e in events]
    lost = kinds.index(("state", "RASCS_Disconnected", 629))
    assert ("redial", "RASCS_OpenPort", 0) in kinds[lost:], kinds
    assert kinds[-1] == ("state", "RASCS_Connected", 0), kinds
    lab.hangup(handle)
