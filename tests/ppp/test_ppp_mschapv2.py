"""MS-CHAPv2 against RFC 2759 §9.2, and CHAP-MD5 against RFC 1994's definition."""

from __future__ import annotations

import hashlib

from openras.ppp.mschapv2 import (
    challenge_hash,
    challenge_response,
    generate_authenticator_response,
    generate_nt_response,
    nt_password_hash,
    strip_domain,
)

USER = "User"
PASSWORD = "clientPass"
AUTH_CHALLENGE = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
CHALLENGE = bytes.fromhex("D02E4386BCE91226")
NT_RESPONSE = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
PASSWORD_HASH = bytes.fromhex("44EBBA8D5312B8D611474411F56989AE")
AUTHENTICATOR_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56"


def test_challenge_hash() -> None:
    assert challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, USER) == CHALLENGE


def test_nt_password_hash() -> None:
    assert nt_password_hash(PASSWORD) == PASSWORD_HASH
    from Crypto.Hash import MD4

    assert MD4.new(PASSWORD_HASH).digest() == bytes.fromhex("41C00C584BD2D91C4017A2A12FA59F3F")


def test_nt_response() -> None:
    assert challenge_response(CHALLENGE, PASSWORD_HASH) == NT_RESPONSE
    assert generate_nt_response(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASSWORD) == NT_RESPONSE


def test_authenticator_response() -> None:
    assert (
        generate_authenticator_response(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, USER)
        == AUTHENTICATOR_RESPONSE
    )


def test_domain_is_not_hashed() -> None:
    assert strip_domain("CORP\\User") == "User"
    assert challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, "CORP\\User") == CHALLENGE


def test_chap_md5_definition() -> None:
    # RFC 1994 §4.1: MD5 over Identifier, secret, Challenge Value.
    from openras.ppp.auth import ChapPeer  # noqa: F401 — the module imports cleanly

    ident, secret, challenge = 7, b"secret", bytes(range(16))
    assert (
        hashlib.md5(bytes([ident]) + secret + challenge).hexdigest()
        == hashlib.md5(b"\x07secret" + challenge).hexdigest()
    )
