"""Failures and link loss of the OpenVPN device, against a real server (tests/peers/openvpn.py)."""

from __future__ import annotations

import time

from ras_helpers import events_of

from openras.codes import RASCS

from .openvpn_lab import OPENVPN_STATES, VpnLab, names, wait_for


def assert_nothing_left(vpn: VpnLab) -> None:
    wait_for(lambda: vpn.client_openvpns() == [], 10)
    assert "tun" not in vpn.links() and "Office" not in vpn.links()
    assert vpn.resolv_files() == []


def test_wrong_password_is_691_in_authenticate(vpn: VpnLab) -> None:
    vpn.entry()
    handle, notes = vpn.dial(password="not the password")
    last = notes[-1]
    assert (last.state.name, last.error) == ("Authenticate", 691), notes
    # Each state once, then the failure as a second notification of the state it happened in.
    assert names(notes) == [*OPENVPN_STATES[:6], "Authenticate"], notes
    assert [n.error for n in notes] == [0] * 6 + [691]
    status = vpn.status(handle)
    assert status is not None and status.error == 691
    vpn.hangup(handle)
    assert_nothing_left(vpn)


def test_untrusted_server_certificate_is_810(vpn: VpnLab) -> None:
    vpn.entry(config=vpn.server.client_config("other-ca.conf", ca="other-ca.crt"))
    handle, notes = vpn.dial()
    assert notes[-1].error == 810, notes
    assert "Authenticated" not in names(notes)
    assert "VERIFY" in notes[-1].detail
    vpn.hangup(handle)
    assert_nothing_left(vpn)


def test_silent_server_is_809_after_OpenVpnTimeout(vpn: VpnLab) -> None:
    # 192.0.2.9 is on the veth's subnet but nobody has it: nothing ever answers.
    path = vpn.server.client_config("silent.conf")
    path.write_text(path.read_text().replace("remote 192.0.2.1", "remote 192.0.2.9"))
    vpn.entry(config=path, OpenVpnTimeout=2)
    handle, notes = vpn.dial()
    assert (notes[-1].state.name, notes[-1].error) == ("ConnectDevice", 809), notes
    vpn.hangup(handle)
    assert_nothing_left(vpn)


def test_refused_config_options_are_625(vpn: VpnLab) -> None:
    path = vpn.server.client_config("scripted.conf", extra="management 127.0.0.1 7505\n")
    vpn.entry(config=path)
    handle, notes = vpn.dial()
    assert (notes[-1].state.name, notes[-1].error) == ("OpenPort", 625), notes
    assert "management" in notes[-1].detail
    vpn.hangup(handle)
    assert vpn.client_openvpns() == []


def test_server_death_is_link_loss_with_disconnection_notification(vpn: VpnLab) -> None:
    vpn.entry()
    handle, notes = vpn.dial()
    assert notes[-1].state.name == "Connected"
    status = vpn.status(handle)
    assert status is not None
    ifname = status.device.interface
    vpn.server.kill_server()
    # The server pushes keepalive 1 3: openvpn's ping-restart fires about 3 s later.
    lost = wait_for(
        lambda: [
            e
            for e in events_of(vpn.daemon, handle)
            if e.get("kind") == "state" and e.get("notify") == "disconnection"
        ],
        20,
    )
    assert lost[0]["state_name"] == "RASCS_Disconnected" and lost[0]["error"] == 829, lost
    wait_for(lambda: vpn.client_openvpns() == [], 10)
    wait_for(lambda: ifname not in vpn.links(), 10)
    assert vpn.resolv_files() == []
    status = vpn.status(handle)
    assert status is not None and status.error == 829  # listed with its error until hung up
    vpn.hangup(handle)


def test_redial_after_link_failure(vpn: VpnLab) -> None:
    vpn.entry(RedialOnLinkFailure=1, RedialSeconds=1, RedialAttempts=30)
    handle, notes = vpn.dial()
    assert notes[-1].state.name == "Connected"
    vpn.server.kill_server()
    wait_for(
        lambda: any(e.get("notify") == "disconnection" for e in events_of(vpn.daemon, handle)), 20
    )
    wait_for(lambda: any(e.get("kind") == "redial" for e in events_of(vpn.daemon, handle)), 20)
    vpn.server.start_server()
    connected = wait_for(
        lambda: (s := vpn.status(handle)) is not None and s.state is RASCS.Connected and s,
        40,
    )
    assert connected.handle == handle
    seen = [e for e in events_of(vpn.daemon, handle) if e.get("kind") == "state"]
    # The redial went through the states again, and announced the new connection.
    assert [e["state_name"].removeprefix("RASCS_") for e in seen][
        -len(OPENVPN_STATES) :
    ] == OPENVPN_STATES
    assert seen[-1]["notify"] == "connection"
    assert len(vpn.client_openvpns()) == 1
    vpn.hangup(handle)
    time.sleep(0)
    assert_nothing_left(vpn)


def test_no_orphan_when_the_daemon_dies(vpn: VpnLab) -> None:
    vpn.entry()
    handle, notes = vpn.dial()
    assert notes[-1].state.name == "Connected"
    status = vpn.status(handle)
    assert status is not None
    ifname = status.device.interface
    assert len(vpn.client_openvpns()) == 1
    vpn.daemon.kill()  # SIGKILL: no hang-up runs
    # The management connection closes and the parent-death signal fires: openvpn exits.
    wait_for(lambda: vpn.client_openvpns() == [], 15)
    wait_for(lambda: ifname not in vpn.links(), 10)
    # A new daemon reports the link as lost with the previous one.
    vpn.daemon.start()
    status = vpn.status(handle)
    assert status is not None and status.error == 668
    vpn.hangup(handle)
