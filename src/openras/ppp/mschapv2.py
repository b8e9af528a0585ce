"""MS-CHAPv2 computations (RFC 2759 §8). MD4 and DES come from pycryptodome: OpenSSL 3
no longer gives hashlib an MD4."""

from __future__ import annotations

import hashlib

from Crypto.Cipher import DES
from Crypto.Hash import MD4

_MAGIC1 = b"Magic server to client signing constant"
_MAGIC2 = b"Pad to make it do more than one iteration"


def strip_domain(username: str) -> str:
    """RFC 2759 §8.2: the challenge hash uses the user name without any "DOMAIN\\" prefix."""
    return username.rsplit("\\", 1)[-1]


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, username: str) -> bytes:
    digest = hashlib.sha1(
        peer_challenge + authenticator_challenge + strip_domain(username).encode("utf-8")
    ).digest()
    return digest[:8]


def nt_password_hash(password: str) -> bytes:
    return MD4.new(password.encode("utf-16-le")).digest()


def _des_key(key7: bytes) -> bytes:
    """Spread 56 key bits over 8 octets (the low bit of each is parity, which DES ignores)."""
    bits = int.from_bytes(key7, "big")
    return bytes(((bits >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    key = password_hash + bytes(5)
    return b"".join(
        DES.new(_des_key(key[i : i + 7]), DES.MODE_ECB).encrypt(challenge) for i in (0, 7, 14)
    )


def generate_nt_response(
    authenticator_challenge: bytes, peer_challenge: bytes, username: str, password: str
) -> bytes:
    challenge = challenge_hash(peer_challenge, authenticator_challenge, username)
    return challenge_response(challenge, nt_password_hash(password))


def generate_authenticator_response(
    password: str,
    nt_response: bytes,
    peer_challenge: bytes,
    authenticator_challenge: bytes,
    username: str,
) -> str:
    """The "S=<40 hex digits>" string the authenticator sends in its Success packet."""
    password_hash_hash = MD4.new(nt_password_hash(password)).digest()
    digest = hashlib.sha1(password_hash_hash + nt_response + _MAGIC1).digest()
    challenge = challenge_hash(peer_challenge, authenticator_challenge, username)
    digest = hashlib.sha1(digest + challenge + _MAGIC2).digest()
    return "S=" + digest.hex().upper()
