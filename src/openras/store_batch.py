"""Writes of the hot path (the event log, live connection records) batched off the event loop.

The bus fans an event out first and only then hands it here; the writes queue up and one
worker thread applies each batch in a single transaction on its own SQLite connection, in
the order they were made. Without a running event loop (tests, start-up, shutdown) a write is
applied at once. A daemon killed before a batch lands loses only the last BATCH_DELAY (10 ms)
or so of the log; the connection records it finds at restart still say which links died with it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Op = tuple[str, tuple[Any, ...]]
BATCH_DELAY = 0.01  # seconds a write waits for others to join its batch

SQL = {
    "event": "INSERT OR REPLACE INTO events(seq, time, handle, body) VALUES (?,?,?,?)",
    "connection": "INSERT OR REPLACE INTO connections(handle, entry, state, error, record, "
    "updated) VALUES (?,?,?,?,?,?)",
    "forget": "DELETE FROM connections WHERE handle=?",
    "trim": "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?",
}


class BatchWriter:
    def __init__(
        self,
        path: str,
        on_error: Callable[[BaseException], None] | None = None,
        keep_on: Callable[[BaseException], bool] | None = None,
        keep_events: int = 10_000,
    ) -> None:
        self._path = path
        # Batches refused for a reason ``keep_on`` accepts (a full disk) wait here, in order,
        # and go first into the next batch; past ``keep_events`` the oldest log rows are dropped.
        self._keep_on = keep_on
        self._keep_events = keep_events
        self._held: list[Op] = []
        self._db: sqlite3.Connection | None = None
        self._ops: list[Op] = []
        self._scheduled = False
        self._lock = threading.Lock()  # one batch at a time on the connection
        self._executor: ThreadPoolExecutor | None = None
        self._inflight: set[Future[None]] = set()
        self._on_error = on_error
        self.batches = 0
        self.written = 0

    # -- what callers queue ------------------------------------------------------------------
    def event(self, seq: int, when: float, handle: int | None, body: bytes) -> None:
        """``body``: the event's JSON as UTF-8 (stored as text, decoded on the writer's
        thread)."""
        self._add("event", (seq, when, handle, body))

    def put_connection(
        self, handle: int, entry: str, state: int, error: int, record: dict[str, Any]
    ) -> None:
        """``record`` is encoded on the writer's thread: the caller must not change it."""
        self._add("connection", (handle, entry, state, error, record, time.time()))

    def delete_connection(self, handle: int) -> None:
        self._add("forget", (handle,))

    def trim_events(self, keep: int) -> None:
        self._add("trim", (keep,))

    # -- batching --------------------------------------------------------------------------------
    def _add(self, kind: str, args: tuple[Any, ...]) -> None:
        self._ops.append((kind, args))
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        # A little later: a dial's events and records go in one batch, and the writer's thread
        # does not take the GIL from the loop while it is fanning the events out.
        loop.call_later(BATCH_DELAY, self._submit)

    def _submit(self) -> None:
        self._scheduled = False
        ops, self._ops = self._ops, []
        if ops:
            self._run(ops)

    def commit_now(self) -> asyncio.Future[None]:
        """Write what is queued now, on the writer's thread (on the event loop): the future
        completes once it is committed (or held back by a full disk). The loop never waits on
        SQLite's lock itself: a write colliding with a batch in progress made SQLite's busy
        handler sleep a millisecond or more on the loop."""
        ops, self._ops = self._ops, []
        return asyncio.wrap_future(self._run(ops))

    def _run(self, ops: list[Op]) -> Future[None]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="openras-store")
        future = self._executor.submit(self._write, ops)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return future

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA synchronous=NORMAL")
        return self._db

    @property
    def pending(self) -> int:
        """Writes held back by a full disk."""
        return len(self._held)

    def retry(self) -> None:
        """Try the held writes again (the reaper calls this); a no-op when nothing waits."""
        if not self._held:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._write([])
            return
        self._run([])

    def _hold(self, ops: list[Op]) -> None:
        events = sum(1 for kind, _ in ops if kind == "event")
        drop = events - self._keep_events
        if drop > 0:
            kept: list[Op] = []
            for op in ops:
                if op[0] == "event" and drop > 0:
                    drop -= 1
                    continue
                kept.append(op)
            ops = kept
        # Trims are only housekeeping: not worth holding.
        self._held = [op for op in ops if op[0] != "trim"]

    def _write(self, ops: list[Op]) -> None:
        with self._lock:
            ops = self._held + ops
            if not ops:
                return
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                for kind, args in ops:
                    if kind == "connection":
                        args = (*args[:4], json.dumps(args[4]), args[5])
                    elif kind == "event":
                        args = (*args[:3], args[3].decode())
                    db.execute(SQL[kind], args)
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if self._keep_on is not None and self._keep_on(exc):
                    self._hold(ops)
                    return
                self._held = []
                if self._on_error is not None:
                    self._on_error(exc)
                return
            self._held = []
            self.batches += 1
            self.written += len(ops)

    def flush(self) -> None:
        """Apply every queued write now (blocking: shutdown, or no event loop)."""
        for future in list(self._inflight):
            future.result()
        ops, self._ops = self._ops, []
        self._scheduled = False
        if ops:
            self._write(ops)

    def close(self) -> None:
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._db is not None:
            self._db.close()
            self._db = None
