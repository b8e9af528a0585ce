"""PPP through an AT modem: a scripted modem on a pty (tests/peers/modem.py), slirp behind
CONNECT."""

from __future__ import annotations

from typing import Any

import pytest

from openras.codes import RASCS
from openras.codes.states import RASP_PppIp

from .lab import names, wait_for

MODEM_STATES = [
    "OpenPort",
    "PortOpened",
    "ConnectDevice",
    "DeviceConnected",
    "AllDevicesConnected",
    "AuthProject",
    "Projected",
    "Connected",
]


def test_modem_dials_connects_and_hangs_up_with_ath(lab_factory: Any) -> None:
    lab = lab_factory.modem("connect")
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == MODEM_STATES, (notes, lab.daemon.log())
    ras = lab.ras()
    assert ras.projection(handle, RASP_PppIp)["szIpAddress"] == "10.0.2.15"
    status = ras.status(handle)
    assert status.device_type == "modem" and status.device.interface == "lab"
    assert lab.modem.commands()[:3] == ["ATZ", "ATE0", "ATDT5551234"]
    lab.hangup(handle)
    # A pty has no DTR: +++ then ATH (the modem may already be back in command mode: slirp ends
    # on our LCP Terminate-Request and the modem reports NO CARRIER).
    wait_for(lambda: lab.modem.commands()[-1] == "ATH", timeout=10)


def test_modem_init_string_is_sent(lab_factory: Any) -> None:
    lab = lab_factory.modem("busy")
    lab.entry(ModemInit="AT&F;ATS7=30")
    handle, _notes = lab.dial()
    assert lab.modem.commands() == ["ATZ", "ATE0", "AT&F", "ATS7=30", "ATDT5551234"]
    lab.hangup(handle)


@pytest.mark.parametrize(
    ("mode", "code"),
    [("busy", 676), ("noanswer", 678), ("nocarrier", 679), ("nodialtone", 680), ("error", 651)],
)
def test_modem_result_codes(lab_factory: Any, mode: str, code: int) -> None:
    lab = lab_factory.modem(mode)
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == ["OpenPort", "PortOpened", "ConnectDevice", "ConnectDevice"], notes
    assert (notes[-1].state, notes[-1].error) == (RASCS.ConnectDevice, code), notes
    lab.hangup(handle)


def test_modem_silent_after_dial_is_no_answer(lab_factory: Any) -> None:
    lab = lab_factory.modem("silent")
    lab.entry(ModemAnswerSeconds=2)
    handle, notes = lab.dial()
    assert (notes[-1].state, notes[-1].error) == (RASCS.ConnectDevice, 678), notes
    lab.hangup(handle)


def test_dead_modem_is_a_request_timeout(lab_factory: Any) -> None:
    lab = lab_factory.modem("dead")
    lab.entry()
    handle, notes = lab.dial()
    assert (notes[-1].state, notes[-1].error) == (RASCS.ConnectDevice, 638), notes
    lab.hangup(handle)
