"""``within``: ``asyncio.wait_for`` as Python 3.12 has it, on the 3.11 we support.

On 3.11 ``asyncio.wait_for`` loses a cancellation that arrives in the loop iteration its
awaitable completes (python/cpython#86296; 3.12 rebuilt ``wait_for`` on ``asyncio.timeout``).
Here a hang-up cancelling a dial just as its TCP connect succeeded let the dial go on into the
SSH handshake, and the handle stayed "hanging up" for the handshake's whole time-out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``awaitable``'s result, or TimeoutError after ``seconds`` (None: no limit); a
    cancellation of the caller always goes through."""
    async with asyncio.timeout(seconds):
        return await awaitable
