"""vpn_kind: which VPN device dials a Type=2 / DEVICE=vpn entry (no peers needed)."""

from __future__ import annotations

import logging

import pytest

from openras.codes import RasError
from openras.phonebook import Entry
from openras.ras.devices import device_key, registry
from openras.ras.devices.base import DialContext, DialParams
from openras.ras.devices.ikev2 import IkeV2Device, cert_names, names_host
from openras.ras.devices.vpn import vpn_kind


def entry(**keys: str) -> Entry:
    return Entry("Office VPN", [(k, v) for k, v in keys.items()])


@pytest.mark.parametrize("strategy", [None, "0", "7", "8", "Ikev2", "IKEV2", "Ikev2Only", " 7 "])
def test_ikev2_strategies(strategy: str | None) -> None:
    keys = {"Type": "2"} if strategy is None else {"Type": "2", "VpnStrategy": strategy}
    assert vpn_kind(entry(**keys)) == "ikev2"


@pytest.mark.parametrize("strategy", ["OpenVpn", "openvpn", "OPENVPN"])
def test_openvpn_strategy(strategy: str) -> None:
    assert vpn_kind(entry(DEVICE="vpn", VpnStrategy=strategy)) == "openvpn"


@pytest.mark.parametrize(
    ("strategy", "name"),
    [
        ("1", "PptpOnly"),
        ("2", "PptpFirst"),
        ("3", "L2tpOnly"),
        ("4", "L2tpFirst"),
        ("5", "SstpOnly"),
        ("6", "SstpFirst"),
        ("SstpOnly", "SstpOnly"),
    ],
)
def test_pptp_l2tp_sstp_are_633_naming_the_strategy(strategy: str, name: str) -> None:
    with pytest.raises(RasError) as info:
        vpn_kind(entry(Type="2", VpnStrategy=strategy))
    assert info.value.code == 633
    assert "openras cannot dial PPTP/L2TP/SSTP" in info.value.detail and name in info.value.detail
    assert "IKEv2" in info.value.detail and "OpenVpn" in info.value.detail


def test_unknown_strategy_is_633() -> None:
    with pytest.raises(RasError) as info:
        vpn_kind(entry(Type="2", VpnStrategy="42"))
    assert info.value.code == 633


def test_type_2_without_device_maps_to_vpn_and_keeps_device_key() -> None:
    assert entry(Type="2").device == "vpn"
    assert entry(Type="2", DEVICE="vpn").device == "vpn"
    assert entry(Type="1").device == ""
    assert entry(DEVICE="SSH").device == "ssh"


def ctx_for(e: Entry) -> DialContext:
    return DialContext(
        handle=1,
        entry=e,
        params=DialParams(),
        owner_uid=0,
        progress=lambda s: None,
        link_lost=lambda c, d: None,
        log=logging.getLogger("test"),
    )


def test_registry_resolves_vpn_entries_by_kind() -> None:
    devices = registry()
    key = device_key(entry(Type="2", VpnStrategy="7"))
    assert key == "ikev2" and isinstance(
        devices[key](ctx_for(entry(Type="2", VpnStrategy="7"))), IkeV2Device
    )
    assert (
        device_key(entry(DEVICE="vpn", VpnStrategy="OpenVpn")) == "openvpn" and "openvpn" in devices
    )
    assert device_key(entry(DEVICE="ssh")) == "ssh"
    with pytest.raises(RasError) as info:
        device_key(entry(Type="2", VpnStrategy="3"))
    assert info.value.code == 633


def test_names_host() -> None:
    assert names_host(["vpn.test"], [], "VPN.test")
    assert names_host(["*.example.org"], [], "vpn.example.org")
    assert not names_host(["*.example.org"], [], "a.vpn.example.org")
    assert names_host([], ["192.0.2.1"], "192.0.2.1")
    assert not names_host(["192.0.2.1"], [], "192.0.2.1")  # an address must be an iPAddress SAN
    assert not names_host(["other.test"], ["192.0.2.9"], "192.0.2.1")


def test_cert_names_reads_sans() -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cn.test")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    plain = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    assert cert_names(plain) == (["cn.test"], [])
    san = x509.SubjectAlternativeName(
        [x509.DNSName("VPN.test"), x509.IPAddress(ipaddress.ip_address("192.0.2.1"))]
    )
    with_san = builder.add_extension(san, critical=False).sign(key, hashes.SHA256())
    assert cert_names(with_san.public_bytes(serialization.Encoding.DER)) == (
        ["vpn.test"],
        ["192.0.2.1"],
    )
