"""Edges of a PPP link: no CAP_NET_ADMIN, a peer that never speaks PPP, hang-up mid-dial."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any

from peers import require as need

from openras.codes import RASCS
from openras.codes.states import RASP_PppIp
from openras.ras.link.tun import has_cap_net_admin, interface_name

from .lab import PPP_STATES, names, wait_for

# Accepts TCP connections inside the namespace, reads and never answers (not a PPP peer).
MUTE = r"""
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    print("accepted", flush=True)
"""


def test_without_cap_net_admin_the_link_connects_without_interface(lab_factory: Any) -> None:
    need(shutil.which("setpriv") is not None, "setpriv (util-linux) is missing")
    drop = ("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--")
    lab = lab_factory("tcp", wrap=drop)
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    assert lab.ras().projection(handle, RASP_PppIp)["szIpAddress"] == "10.0.2.15"
    device = lab.ras().status(handle).device
    assert device.interface is None and "CAP_NET_ADMIN" in device.interface_reason, device
    assert device.local_address == "10.0.2.15" and device.dns == (lab.slirp.dns,)
    assert " lab: " not in lab.links()
    lab.hangup(handle)


def test_cap_check_reads_the_effective_set() -> None:
    status = open("/proc/self/status").read()
    cap_eff = int(
        next(line for line in status.splitlines() if line.startswith("CapEff:")).split()[1], 16
    )
    assert has_cap_net_admin() == bool(cap_eff & (1 << 12))
    dropped = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-net_admin",
            "--inh-caps=-net_admin",
            "--",
            sys.executable,
            "-c",
            "from openras.ras.link.tun import has_cap_net_admin as h; print(h())",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if dropped.returncode == 0:
        assert dropped.stdout.strip() == "False"


def test_interface_names_are_sanitised_short_and_unique() -> None:
    assert interface_name("lab", lambda n: False) == "lab"
    assert interface_name("My VPN: office/1", lambda n: False) == "My-VPN-office1"
    assert len(interface_name("x" * 40, lambda n: False)) == 15
    assert interface_name("lo", lambda n: n == "lo") == "lo-1"
    taken = {"a" * 15, "a" * 13 + "-1"}
    assert interface_name("a" * 20, lambda n: n in taken) == "a" * 13 + "-2"
    assert interface_name("!!!", lambda n: False) == "ras"
    assert not interface_name("-x", lambda n: False).startswith("-")


def _mute_peer(lab: Any) -> tuple[int, Any]:
    proc = lab.slirp.netns_popen([sys.executable, "-c", MUTE], stdout=subprocess.PIPE)
    return int(proc.stdout.readline()), proc


def test_peer_that_never_answers_lcp_gives_718(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    port, _ = _mute_peer(lab)
    with lab.daemon.client() as c:
        c.call(
            "POST",
            "/v1/entries",
            json={
                "name": "mute",
                "lines": [["DEVICE", "tcp"], ["PhoneNumber", f"127.0.0.1:{port}"]],
            },
        )
    handle, notes = lab.dial("mute")
    # restart_timer 1 s × max_configure 4 (the lab's daemon config), then LCP gives up.
    assert (notes[-1].state, notes[-1].error) == (RASCS.AllDevicesConnected, 718), notes
    lab.hangup(handle)


def test_hangup_during_negotiation_stops_notifications_and_frees_everything(
    lab_factory: Any,
) -> None:
    lab = lab_factory("tcp")
    port, _ = _mute_peer(lab)
    with lab.daemon.client() as c:
        c.call(
            "POST",
            "/v1/entries",
            json={
                "name": "mute",
                "lines": [["DEVICE", "tcp"], ["PhoneNumber", f"127.0.0.1:{port}"]],
            },
        )
    ras = lab.ras()
    started = ras.dial("mute")
    handle = started.handle
    wait_for(lambda: (s := lab.status(handle)) and s.state == RASCS.AllDevicesConnected)
    lab.hangup(handle)
    states = [n.state for n in ras.notifications(handle, started.seq)]
    assert RASCS.Connected not in states and all(s <= RASCS.AllDevicesConnected for s in states)
