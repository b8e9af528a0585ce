"""PPP over TCP to a real slirp: states, projection, failures, loss and redial."""

from __future__ import annotations

from typing import Any

from openras.codes.states import RASP_PppIp, RASP_PppLcp

from .lab import PPP_STATES, names


def test_tcp_dial_connects_with_slirps_address_and_dns(lab_factory: Any) -> None:
    lab = lab_factory("tcp")
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    assert all(n.error == 0 for n in notes)
    ras = lab.ras()
    ip = ras.projection(handle, RASP_PppIp)
    assert ip["dwError"] == 0 and ip["szIpAddress"] == "10.0.2.15"
    assert ip["szDnsAddress"] == lab.slirp.dns
    lcp = ras.projection(handle, RASP_PppLcp)
    assert lcp["dwAuthenticationProtocol"] == 0 and lcp["dwServerMru"] == 1500
    lab.hangup(handle)
