"""Running asyncio client code for synchronous callers: one event-loop thread per process.

The synchronous API (``Ras``, ``win32ras``, the CLIs) reuses the asyncio implementation instead of
keeping a blocking twin of it: its coroutines and async generators run on this loop, and the
calling thread waits for each result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The process's client loop, started on first use (a daemon thread: it never blocks exit)."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            threading.Thread(
                target=new.run_forever, name="openras-client-loop", daemon=True
            ).start()
            _loop = new
        return _loop


def iterate(agen: AsyncGenerator[T, None]) -> Iterator[T]:
    """Iterate an async generator from synchronous code, item by item."""
    target = loop()
    try:
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(agen.__anext__(), target).result()
            except StopAsyncIteration:
                return
    finally:
        asyncio.run_coroutine_threadsafe(agen.aclose(), target).result()
