"""PPP straight on a pty (``DEVICE=serial``) to a real slirp behind socat.

socat's ``wait-slave`` pty serves one session: socat (and slirp) exit when the link ends.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from openras.codes import RASCS
from openras.codes.states import RASP_PppIp, RASP_PppLcp

from .lab import KEEPALIVE_BOUND, PPP_AUTH_STATES, PPP_STATES, names, slirp_pids, wait_for


def test_pty_dial_projection_data_and_hangup(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory("pty")
    token = os.urandom(16).hex()
    port = lab.serve_file(tmp_path, "index.html", token.encode())
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    ras = lab.ras()
    ip = ras.projection(handle, RASP_PppIp)
    assert (ip["szIpAddress"], ip["szDnsAddress"]) == ("10.0.2.15", lab.slirp.dns)
    status = ras.status(handle)
    assert status.device_type == "serial" and status.device_name == str(lab.slirp.pty)
    assert status.device.interface == "lab"
    page = lab.run(["curl", "-s", "--max-time", "15", f"http://10.0.2.2:{port}/"])
    assert page.stdout == token, (page, lab.daemon.log())
    lab.hangup(handle)
    assert " lab: " not in lab.links()
    wait_for(lambda: lab.slirp.proc is not None and lab.slirp.proc.poll() is not None, timeout=10)


def test_port_in_use_gives_633(lab_factory: Any) -> None:
    lab = lab_factory("pty")
    lab.entry()
    lab.entry("second")  # another entry on the same Port
    handle, notes = lab.dial()
    assert notes[-1].state == RASCS.Connected
    other, notes2 = lab.dial("second")
    assert (notes2[-1].state, notes2[-1].error) == (RASCS.OpenPort, 633), notes2
    assert lab.ras().status(handle).state == RASCS.Connected  # the first link is untouched
    lab.hangup(other)
    lab.hangup(handle)


def test_pty_pap_good_and_bad_password(lab_factory: Any, slirp_factory: Any) -> None:
    lab = lab_factory("pty", auth="pap")
    lab.entry()
    handle, notes = lab.dial(password="not-" + lab.slirp.password)
    assert (notes[-1].state, notes[-1].error) == (RASCS.Authenticate, 691), notes
    lab.hangup(handle)
    # socat's pty serves one session: a fresh peer for the good password.
    lab2 = lab_factory("pty", auth="pap")
    lab2.entry()
    handle, notes = lab2.dial()
    assert names(notes) == PPP_AUTH_STATES, (notes, lab2.daemon.log())
    assert lab2.ras().projection(handle, RASP_PppLcp)["dwAuthenticationProtocol"] == 0xC023
    lab2.hangup(handle)


def test_killing_slirp_on_the_pty_ends_the_link(lab_factory: Any) -> None:
    lab = lab_factory("pty")
    lab.entry()
    handle, notes = lab.dial()
    assert notes[-1].state == RASCS.Connected
    [pid] = slirp_pids(lab)
    os.kill(pid, signal.SIGKILL)
    status = wait_for(
        lambda: (s := lab.status(handle)) and s.state == RASCS.Disconnected and s,
        timeout=KEEPALIVE_BOUND,
    )
    # socat exits with slirp and closes the pty master: the line hangs up (EIO), 629.
    assert status.error == 629, status
    assert " lab: " not in lab.links()
    lab.hangup(handle)
