"""Counters another program keeps (charon's SA counters, the kernel's interface counters),
as last read: :meth:`CachedCounters.stale` starts a re-read in the background when the
value is older than ``MAX_AGE``, so a synchronous reader (``/metrics``) never waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ..records import LinkStatistics

MAX_AGE = 2.0


class CachedCounters:
    def __init__(self, refresh: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._refresh = refresh
        self._value = LinkStatistics()
        self._read_at = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def value(self) -> LinkStatistics:
        return self._value

    @value.setter
    def value(self, stats: LinkStatistics) -> None:
        self._value, self._read_at = stats, time.monotonic()

    def stale(self) -> None:
        if time.monotonic() - self._read_at < MAX_AGE or (self._task and not self._task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._refresh())
