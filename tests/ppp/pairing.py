"""Two engines joined by an in-memory "wire", with a clock the test controls."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from openras.ppp import AuthMethod, PppConfig, PppEngine
from openras.ppp.events import LinkDown, PppEvent


def seeded(seed: int) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return rng.randbytes


def client_config(**kw: Any) -> PppConfig:
    base: dict[str, Any] = {
        "username": "alice",
        "password": "s3cret-pw",
        "echo_interval": 0,
        "random_bytes": seeded(1),
    }
    base.update(kw)
    return PppConfig(**base)


def server_config(method: AuthMethod | None = AuthMethod.PAP, **kw: Any) -> PppConfig:
    base: dict[str, Any] = {
        "require_auth": (method,) if method else (),
        "secrets": {"alice": "s3cret-pw"},
        "allowed_auth": (),
        "local_ip": "10.9.0.1",
        "peer_ip": "10.9.0.2",
        "dns_servers": ("10.9.0.53", "10.9.0.54"),
        "request_dns": False,
        "echo_interval": 0,
        "random_bytes": seeded(2),
    }
    base.update(kw)
    return PppConfig(**base)


class Link:
    """Carries bytes between ``a`` and ``b``; either direction can be cut."""

    def __init__(self, a: PppEngine, b: PppEngine, now: float = 0.0) -> None:
        self.a, self.b, self.now = a, b, now
        self.a_to_b = True
        self.b_to_a = True
        self.events_a: list[PppEvent] = []
        self.events_b: list[PppEvent] = []
        self.wire_a: list[bytes] = []  # everything a sent, delivered or not
        self.wire_b: list[bytes] = []

    def start(self) -> Link:
        self.a.start(self.now)
        self.b.start(self.now)
        return self.pump()

    def _collect(self) -> None:
        self.events_a += self.a.events()
        self.events_b += self.b.events()

    def pump(self, rounds: int = 200) -> Link:
        for _ in range(rounds):
            data_a, data_b = self.a.data_to_send(), self.b.data_to_send()
            if data_a:
                self.wire_a.append(data_a)
            if data_b:
                self.wire_b.append(data_b)
            if data_a and self.a_to_b:
                self.b.receive_data(data_a, self.now)
            if data_b and self.b_to_a:
                self.a.receive_data(data_b, self.now)
            self._collect()
            if not data_a and not data_b:
                break
        return self

    def next_timer(self) -> float | None:
        timers = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        return min(timers) if timers else None

    def run_until(self, deadline: float) -> Link:
        """Advance the clock timer by timer up to ``deadline``, pumping bytes in between."""
        self.pump()
        while (when := self.next_timer()) is not None and when <= deadline:
            self.now = max(self.now, when)
            self.a.handle_timer(self.now)
            self.b.handle_timer(self.now)
            self.pump()
        self.now = max(self.now, deadline)
        return self

    def down_a(self) -> LinkDown | None:
        return next((e for e in self.events_a if isinstance(e, LinkDown)), None)

    def down_b(self) -> LinkDown | None:
        return next((e for e in self.events_b if isinstance(e, LinkDown)), None)


def of_type(events: list[PppEvent], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]
