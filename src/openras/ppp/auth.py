"""Authentication protocols, both roles: PAP (RFC 1334), CHAP-MD5 (RFC 1994) and
MS-CHAPv2 (RFC 2759). "Peer" proves who it is; "authenticator" checks.

Each object sends through its owner, keeps one ``deadline`` and reports its result once
through ``owner.auth_finished`` (a ``Failure``, or None for success). Passwords stay in the
config; nothing here logs them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Protocol

from .config import AuthMethod, PppConfig
from .events import ROLE_AUTHENTICATOR, ROLE_PEER, Failure
from .mschapv2 import generate_authenticator_response, generate_nt_response
from .packets import CpPacket

PAP_REQUEST, PAP_ACK, PAP_NAK = 1, 2, 3
CHAP_CHALLENGE, CHAP_RESPONSE, CHAP_SUCCESS, CHAP_FAILURE = 1, 2, 3, 4


class AuthOwner(Protocol):
    def send_auth(self, protocol: int, payload: bytes) -> None: ...

    def auth_finished(
        self,
        auth: Authentication,
        failure: Failure | None,
        message: str,
        now: float,
        mschap_error: int | None = None,
    ) -> None: ...


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@dataclass(eq=False)
class Authentication:
    owner: AuthOwner
    config: PppConfig
    method: AuthMethod
    role: str = ROLE_PEER
    deadline: float | None = None
    finished: bool = False
    succeeded: bool = False
    peer_name: str = ""
    _ident: int = 0
    _tries: int = 0

    def start(self, now: float) -> None:
        raise NotImplementedError

    def receive(self, payload: bytes, now: float) -> None:
        raise NotImplementedError

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self.timeout(now)

    def timeout(self, now: float) -> None:
        what = (
            "the authenticator did not answer"
            if self.role == ROLE_PEER
            else ("the peer did not authenticate")
        )
        self._finish(Failure.AUTH_TIMEOUT, f"{self.method.name}: {what}", now)

    def _finish(
        self, failure: Failure | None, message: str, now: float, mschap_error: int | None = None
    ) -> None:
        """Report the result once: ``failure`` None means authenticated."""
        self.deadline = None
        if self.finished:
            return
        self.finished = True
        self.succeeded = failure is None
        self.owner.auth_finished(self, failure, message, now, mschap_error)

    def _send(self, code: int, identifier: int, data: bytes) -> None:
        self.owner.send_auth(self.method.protocol, CpPacket(code, identifier, data).encode())

    def _new_ident(self) -> int:
        self._ident = (
            self.config.random_bytes(1)[0] if not self._ident else (self._ident + 1) & 0xFF
        )
        return self._ident


# ---- PAP ---------------------------------------------------------------------------------


@dataclass(eq=False)
class PapPeer(Authentication):
    """Sends Authenticate-Request until the authenticator answers Ack or Nak."""

    def start(self, now: float) -> None:
        self._new_ident()
        self._tries = 0
        self._transmit(now)

    def _transmit(self, now: float) -> None:
        user = self.config.username.encode("utf-8")[:255]
        password = self.config.password.encode("utf-8")[:255]
        self._tries += 1
        self.deadline = now + self.config.restart_timer
        self._send(
            PAP_REQUEST,
            self._ident,
            bytes((len(user),)) + user + bytes((len(password),)) + password,
        )

    def timeout(self, now: float) -> None:
        if self._tries < self.config.max_configure and not self.finished:
            self._transmit(now)
        else:
            super().timeout(now)

    def receive(self, payload: bytes, now: float) -> None:
        packet = CpPacket.decode(payload)
        if packet is None or packet.identifier != self._ident or self.finished:
            return
        message = ""
        if packet.data and len(packet.data) >= 1 + packet.data[0]:
            message = _text(packet.data[1 : 1 + packet.data[0]])
        if packet.code == PAP_ACK:
            self._finish(None, message, now)
        elif packet.code == PAP_NAK:
            self._finish(Failure.AUTH_REJECTED, message or "PAP: access denied", now)


@dataclass(eq=False)
class PapAuthenticator(Authentication):
    """Waits for Authenticate-Request and checks it against ``config.secrets``."""

    role: str = ROLE_AUTHENTICATOR
    _answer: tuple[int, int] | None = None  # (identifier, code) of the answer given

    def start(self, now: float) -> None:
        self.deadline = now + self.config.auth_timeout

    def receive(self, payload: bytes, now: float) -> None:
        packet = CpPacket.decode(payload)
        if packet is None or packet.code != PAP_REQUEST:
            return
        if self._answer is not None:
            if packet.identifier == self._answer[0]:  # a retransmission: same answer again
                self._reply(packet.identifier, self._answer[1])
            return
        data = packet.data
        if not data or len(data) < 1 + data[0] + 1:
            return
        user = data[1 : 1 + data[0]]
        rest = data[1 + data[0] :]
        if len(rest) < 1 + rest[0]:
            return
        password = rest[1 : 1 + rest[0]]
        self.peer_name = _text(user)
        secret = self.config.lookup_secret(self.peer_name)
        ok = secret is not None and hmac.compare_digest(secret.encode("utf-8"), password)
        self._answer = (packet.identifier, PAP_ACK if ok else PAP_NAK)
        self._reply(packet.identifier, self._answer[1])
        if ok:
            self._finish(None, self.peer_name, now)
        else:
            self._finish(Failure.AUTH_REJECTED, "PAP: bad user name or password", now)

    def _reply(self, identifier: int, code: int) -> None:
        message = b"Login ok" if code == PAP_ACK else b"Login incorrect"
        self._send(code, identifier, bytes((len(message),)) + message)


# ---- CHAP (MD5 and MS-CHAPv2) ------------------------------------------------------------


def _parse_value_name(data: bytes) -> tuple[bytes, bytes] | None:
    if not data or len(data) < 1 + data[0]:
        return None
    return data[1 : 1 + data[0]], data[1 + data[0] :]


_MSCHAP_ERROR = re.compile(r"E=(\d+)")
_MSCHAP_SUCCESS = re.compile(r"S=([0-9A-Fa-f]{40})")


@dataclass(eq=False)
class ChapPeer(Authentication):
    """Answers Challenges; for MS-CHAPv2 also checks the authenticator's "S=" proof."""

    _last: tuple[int, bytes] | None = field(default=None, repr=False)  # (identifier, response)
    _expected_proof: str | None = field(default=None, repr=False)

    def start(self, now: float) -> None:
        self.deadline = now + self.config.auth_timeout

    def receive(self, payload: bytes, now: float) -> None:
        packet = CpPacket.decode(payload)
        if packet is None:
            return
        if packet.code == CHAP_CHALLENGE:
            self._challenge(packet, now)
        elif self._last is None or packet.identifier != self._last[0]:
            return
        elif packet.code == CHAP_SUCCESS:
            self._success(_text(packet.data), now)
        elif packet.code == CHAP_FAILURE:
            message = _text(packet.data)
            found = _MSCHAP_ERROR.search(message)
            # RFC 2759 §6: "E=" is the error number (691 bad password, 648 expired…).
            error = int(found[1]) if self.method is AuthMethod.MSCHAP_V2 and found else None
            self._finish(Failure.AUTH_REJECTED, message or "CHAP: access denied", now, error)

    def _challenge(self, packet: CpPacket, now: float) -> None:
        parsed = _parse_value_name(packet.data)
        if parsed is None:
            return
        challenge, _name = parsed
        if self._last is not None and self._last[0] == packet.identifier:
            self._send(CHAP_RESPONSE, packet.identifier, self._last[1])  # retransmitted challenge
            return
        user = self.config.username
        if self.method is AuthMethod.MSCHAP_V2:
            if len(challenge) != 16:
                return
            peer_challenge = bytes(self.config.random_bytes(16))
            nt_response = generate_nt_response(
                challenge, peer_challenge, user, self.config.password
            )
            value = peer_challenge + bytes(8) + nt_response + b"\x00"
            self._expected_proof = generate_authenticator_response(
                self.config.password, nt_response, peer_challenge, challenge, user
            )
        else:
            secret = self.config.password.encode("utf-8")
            value = hashlib.md5(bytes((packet.identifier,)) + secret + challenge).digest()
        data = bytes((len(value),)) + value + user.encode("utf-8")
        self._last = (packet.identifier, data)
        self.deadline = now + self.config.auth_timeout
        self._send(CHAP_RESPONSE, packet.identifier, data)

    def _success(self, message: str, now: float) -> None:
        if self.method is AuthMethod.MSCHAP_V2:
            proof = _MSCHAP_SUCCESS.search(message)
            if (
                proof is None
                or self._expected_proof is None
                or not hmac.compare_digest(
                    ("S=" + proof[1].upper()).encode(), self._expected_proof.encode()
                )
            ):
                self._finish(
                    Failure.AUTH_REJECTED,
                    "MS-CHAPv2: the authenticator's response did not prove it knows the password",
                    now,
                )
                return
            text = message.split(" M=", 1)[1] if " M=" in message else ""
            self._finish(None, text, now)
        else:
            self._finish(None, message, now)


@dataclass(eq=False)
class ChapAuthenticator(Authentication):
    """Sends a Challenge (repeated until answered) and checks the Response."""

    role: str = ROLE_AUTHENTICATOR
    _challenge: bytes = field(default=b"", repr=False)
    _answer: tuple[int, bytes] | None = field(default=None, repr=False)  # (code, data)

    def start(self, now: float) -> None:
        self._new_ident()
        self._challenge = bytes(self.config.random_bytes(16))
        self._tries = 0
        self._answer = None
        self._transmit(now)

    def _transmit(self, now: float) -> None:
        name = self.config.auth_name.encode("utf-8")
        self._tries += 1
        self.deadline = now + self.config.restart_timer
        self._send(
            CHAP_CHALLENGE, self._ident, bytes((len(self._challenge),)) + self._challenge + name
        )

    def timeout(self, now: float) -> None:
        if self._tries < self.config.max_configure and not self.finished:
            self._transmit(now)
        else:
            super().timeout(now)

    def receive(self, payload: bytes, now: float) -> None:
        packet = CpPacket.decode(payload)
        if packet is None or packet.code != CHAP_RESPONSE or packet.identifier != self._ident:
            return
        if self._answer is not None:  # a retransmitted Response: same verdict again
            self._send(self._answer[0], self._ident, self._answer[1])
            return
        parsed = _parse_value_name(packet.data)
        if parsed is None:
            return
        value, name = parsed
        self.peer_name = _text(name)
        secret = self.config.lookup_secret(self.peer_name)
        ok, success_text = False, b""
        if self.method is AuthMethod.MSCHAP_V2:
            if len(value) == 49 and secret is not None:
                peer_challenge, nt_response = value[:16], value[24:48]
                expected = generate_nt_response(
                    self._challenge, peer_challenge, self.peer_name, secret
                )
                ok = hmac.compare_digest(expected, nt_response)
                if ok:
                    proof = generate_authenticator_response(
                        secret, nt_response, peer_challenge, self._challenge, self.peer_name
                    )
                    success_text = f"{proof} M=Access granted".encode()
            failure_text = (
                f"E=691 R=0 C={bytes(self.config.random_bytes(16)).hex().upper()}"
                " V=3 M=Access denied"
            ).encode()
        else:
            if secret is not None:
                expected = hashlib.md5(
                    bytes((self._ident,)) + secret.encode("utf-8") + self._challenge
                ).digest()
                ok = hmac.compare_digest(expected, value)
            success_text, failure_text = b"Access granted", b"Access denied"
        self._answer = (CHAP_SUCCESS, success_text) if ok else (CHAP_FAILURE, failure_text)
        self._send(self._answer[0], self._ident, self._answer[1])
        if ok:
            self._finish(None, self.peer_name, now)
        else:
            self._finish(Failure.AUTH_REJECTED, "CHAP: bad user name or password", now)


def make_peer(owner: AuthOwner, config: PppConfig, method: AuthMethod) -> Authentication:
    cls = PapPeer if method is AuthMethod.PAP else ChapPeer
    return cls(owner=owner, config=config, method=method)


def make_authenticator(owner: AuthOwner, config: PppConfig, method: AuthMethod) -> Authentication:
    cls = PapAuthenticator if method is AuthMethod.PAP else ChapAuthenticator
    return cls(owner=owner, config=config, method=method)


__all__ = [
    "Authentication",
    "ChapAuthenticator",
    "ChapPeer",
    "PapAuthenticator",
    "PapPeer",
    "make_authenticator",
    "make_peer",
]
