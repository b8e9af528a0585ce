"""The one table from the engine's ``Failure`` reasons to the RAS codes a dial reports."""

from __future__ import annotations

import pytest

from openras.codes import ErrorCode
from openras.ppp import Failure
from openras.ras.devices.ppp_link import FAILURE_CODES, failure_code

# What Windows reports for each reason (the RAS contract; tests/ppp_link dial into most).
EXPECTED = {
    Failure.USER_CLOSED: 631,
    Failure.TRANSPORT_LOST_EARLY: 619,
    Failure.TRANSPORT_LOST: 629,
    Failure.PEER_TERMINATED: 629,
    Failure.PEER_TERMINATED_LCP: 734,
    Failure.LCP_TIMEOUT: 718,
    Failure.LCP_REJECTED: 733,
    Failure.LCP_FINISHED: 734,
    Failure.NOT_CONVERGING: 732,
    Failure.PEER_REFUSED_AUTH: 732,
    Failure.LOOPBACK: 737,
    Failure.ECHO_TIMEOUT: 829,
    Failure.NCP_TIMEOUT: 718,
    Failure.NCP_REJECTED: 733,
    Failure.NCP_TERMINATED: 736,
    Failure.NO_ADDRESS: 738,
    Failure.NO_NETWORK_PROTOCOLS: 720,
    Failure.AUTH_PROTOCOL_REJECTED: 733,
    Failure.AUTH_REJECTED: 691,
    Failure.AUTH_TIMEOUT: 718,
}


def test_every_failure_has_a_ras_code() -> None:
    assert set(FAILURE_CODES) == set(Failure)
    assert all(isinstance(code, ErrorCode) for code in FAILURE_CODES.values())


@pytest.mark.parametrize("failure", list(Failure), ids=lambda f: f.name)
def test_failure_codes(failure: Failure) -> None:
    assert failure_code(failure) == FAILURE_CODES[failure] == EXPECTED[failure]


@pytest.mark.parametrize("number", [646, 647, 648, 649, 691, 709])
def test_mschap_error_numbers_are_ras_codes(number: int) -> None:
    assert failure_code(Failure.AUTH_REJECTED, number) == number


def test_mschap_error_outside_the_ras_range_is_691() -> None:
    assert failure_code(Failure.AUTH_REJECTED, 5) == 691
    assert failure_code(Failure.AUTH_REJECTED, 1000) == 691
    # Only an authentication failure takes the peer's number.
    assert failure_code(Failure.AUTH_TIMEOUT, 648) == 718
