"""Entry keys → ``PppConfig``, and the shared numeric entry option helper."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address
from typing import Any

import pytest

from openras.codes import ErrorCode, RasError
from openras.phonebook import Entry
from openras.ppp import AuthMethod
from openras.ras.devices.base import DialContext, DialParams, entry_number
from openras.ras.devices.ppp_config import ppp_config, static_dns


def entry(**keys: str) -> Entry:
    return Entry("e", list(keys.items()))


def context(options: dict[str, Any] | None = None, **keys: str) -> DialContext:
    return DialContext(
        handle=1,
        entry=entry(**keys),
        params=DialParams(user="u", password="p"),
        owner_uid=0,
        progress=lambda state: None,
        link_lost=lambda code, detail: None,
        log=logging.getLogger("test"),
        options=options or {},
    )


def corrupt(call: Any) -> str:
    with pytest.raises(RasError) as info:
        call()
    assert info.value.code == ErrorCode.ERROR_CORRUPT_PHONEBOOK
    return info.value.detail


def test_entry_number_sources() -> None:
    assert entry_number(entry(K="2.5"), "K", {"k": 7}, "k", 1) == 2.5
    assert entry_number(entry(), "K", {"k": 7}, "k", 1) == 7
    assert entry_number(entry(), "K", {}, "k", 1) == 1
    assert entry_number(entry(K=" "), "K", {}, "k", 1) == 1  # blank: unset


def test_entry_number_errors() -> None:
    assert corrupt(lambda: entry_number(entry(K="x"), "K", {}, "k", 1)) == "K='x' is not a number"
    assert (
        corrupt(lambda: entry_number(entry(), "K", {"k": "y"}, "k", 1)) == "K='y' is not a number"
    )
    assert corrupt(lambda: entry_number(entry(K="-1"), "K", {}, "k", 1, minimum=0)) == (
        "K='-1' is negative"
    )
    assert entry_number(entry(K="-1"), "K", {}, "k", 1) == -1  # no minimum
    assert entry_number(entry(K=" "), "K", {"k": 4}, "k", 1) == 4  # blank: unset, for every device


def test_ppp_config_from_entry() -> None:
    config = ppp_config(
        context(
            {"restart_timer": 1.5},
            AuthRestrictions="0x208",
            ExcludedProtocols="8",
            PppEchoInterval="",
            PppEchoFailure="0",
            IpAssign="2",
            IpAddress="10.0.0.5",
        )
    )
    assert config.allowed_auth == (AuthMethod.MSCHAP_V2, AuthMethod.PAP)
    assert (config.ipv4, config.ipv6, config.local_ip) == (True, False, IPv4Address("10.0.0.5"))
    assert (config.echo_interval, config.echo_max_unanswered, config.restart_timer) == (30, 1, 1.5)
    assert config.request_dns


def test_ppp_config_failures() -> None:
    with pytest.raises(RasError) as info:
        ppp_config(context(ExcludedProtocols="12"))
    assert info.value.code == ErrorCode.ERROR_PPP_NO_PROTOCOLS_CONFIGURED
    assert corrupt(lambda: ppp_config(context(PppEchoInterval="-3"))) == (
        "PppEchoInterval='-3' is negative"
    )
    assert corrupt(lambda: ppp_config(context(IpNameAssign="2", IpDnsAddress="nope")))


def test_static_dns() -> None:
    assert static_dns(entry(IpDnsAddress="1.1.1.1")) is None
    servers = static_dns(entry(IpNameAssign="2", IpDnsAddress="0.0.0.0", IpDns2Address="9.9.9.9"))
    assert servers == [IPv4Address("9.9.9.9")]
