"""One-time tokens and browser sessions of the dashboard, each bound to one local uid.

``openras dashboard`` asks the daemon over the Unix socket (SO_PEERCRED gives the uid) for a
token; the browser trades it once for a session cookie and a CSRF token. Both are random
(``secrets``), kept only in the daemon's memory, expire, and are capped per uid so one user
cannot evict another's.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

TOKEN_TTL = 120.0  # seconds between `openras dashboard` and opening the URL
SESSION_IDLE = 12 * 3600.0  # a session unused this long is forgotten
MAX_TOKENS_PER_UID = 8
MAX_SESSIONS_PER_UID = 16


@dataclass(frozen=True)
class Grant:
    """Whose a token or session is."""

    uid: int
    gid: int


@dataclass
class Session:
    sid: str
    grant: Grant
    csrf: str
    last_used: float = field(default_factory=time.monotonic)

    def csrf_matches(self, given: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), given.encode())


@dataclass
class _Token:
    grant: Grant
    expires: float


class SessionBook:
    def __init__(self, token_ttl: float = TOKEN_TTL, session_idle: float = SESSION_IDLE) -> None:
        self.token_ttl = token_ttl
        self.session_idle = session_idle
        self._tokens: OrderedDict[str, _Token] = OrderedDict()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def _expire(self, now: float) -> None:
        for key in [k for k, t in self._tokens.items() if t.expires <= now]:
            del self._tokens[key]
        for key in [k for k, s in self._sessions.items() if now - s.last_used > self.session_idle]:
            del self._sessions[key]

    def issue(self, grant: Grant) -> str:
        now = time.monotonic()
        self._expire(now)
        mine = [k for k, t in self._tokens.items() if t.grant.uid == grant.uid]
        for key in mine[: max(0, len(mine) - MAX_TOKENS_PER_UID + 1)]:
            del self._tokens[key]
        token = secrets.token_urlsafe(32)
        self._tokens[token] = _Token(grant, now + self.token_ttl)
        return token

    def peek(self, token: str) -> Grant | None:
        """Whose a token is, without using it up (the caller checks the browser's uid first)."""
        self._expire(time.monotonic())
        entry = self._tokens.get(token)
        return entry.grant if entry else None

    def redeem(self, token: str) -> Session | None:
        """Trade a token for a new session; a token works once."""
        self._expire(time.monotonic())
        entry = self._tokens.pop(token, None)
        if entry is None:
            return None
        mine = [k for k, s in self._sessions.items() if s.grant.uid == entry.grant.uid]
        for key in mine[: max(0, len(mine) - MAX_SESSIONS_PER_UID + 1)]:
            del self._sessions[key]
        session = Session(secrets.token_urlsafe(32), entry.grant, secrets.token_urlsafe(32))
        self._sessions[session.sid] = session
        return session

    def get(self, sid: str) -> Session | None:
        now = time.monotonic()
        session = self._sessions.get(sid)
        if session is None or now - session.last_used > self.session_idle:
            self._sessions.pop(sid, None)
            return None
        session.last_used = now
        self._sessions.move_to_end(sid)
        return session

    def end(self, sid: str) -> None:
        self._sessions.pop(sid, None)
