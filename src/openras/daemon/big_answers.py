"""Large answers (the entry list, a phonebook export): built off the event loop, sent in chunks
with a write deadline, and only a few per user at a time.

A client that asks and never reads its answers then costs the daemon neither the loop nor memory
without bound: its answers wait for a slot, and a held slot is given up when the client has not
taken a chunk for :data:`WRITE_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from aiohttp import web

from ..timeouts import within

CHUNK = 256 * 1024
WRITE_TIMEOUT = 30.0
PER_USER = 2


class AnswerGate:
    """At most ``per_user`` large answers of one uid built or in flight at once."""

    def __init__(self, per_user: int = PER_USER) -> None:
        self.per_user = per_user
        self._slots: dict[int, asyncio.Semaphore] = {}
        self._users: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def slot(self, uid: int) -> AsyncIterator[None]:
        sem = self._slots.setdefault(uid, asyncio.Semaphore(self.per_user))
        self._users[uid] = self._users.get(uid, 0) + 1
        try:
            async with sem:
                yield
        finally:
            self._users[uid] -= 1
            if not self._users[uid]:
                del self._users[uid], self._slots[uid]


async def send_json(
    request: web.Request, gate: AnswerGate, uid: int, build: Callable[[], Any], status: int = 200
) -> web.StreamResponse:
    """Answer with ``build()`` as JSON, both running in a worker thread (orjson: a thousand
    full records in a fifth of ``json.dumps``'s time; integer keys become strings, as there)."""
    async with gate.slot(uid):
        body = await asyncio.to_thread(
            lambda: orjson.dumps(build(), option=orjson.OPT_NON_STR_KEYS)
        )
        response = web.StreamResponse(status=status)
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(request)
        view = memoryview(body)
        try:
            for start in range(0, len(body), CHUNK):
                await within(response.write(view[start : start + CHUNK]), WRITE_TIMEOUT)
            await response.write_eof()
        except (TimeoutError, ConnectionError):
            if request.transport is not None:
                request.transport.close()
        return response
