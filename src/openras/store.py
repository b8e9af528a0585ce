"""SQLite (WAL) store: phonebook entries, saved credentials, live connection records, the event log.

Other components (the MPR's remembered connections) add their tables with
:meth:`Store.add_schema`. The database file is created 0600: it holds saved passwords.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from typing import Any

from .store_batch import SQL, BatchWriter

log = logging.getLogger("openras.store")

# SQLITE_FULL and SQLITE_IOERR (primary codes): the disk is full or failing.
_DISK_ERRORS = {13, 10}
# Event-log rows kept in memory while the disk is full (the oldest are dropped past this).
MAX_PENDING_EVENTS = 10_000
COUNTER_BLOCK = 256  # counter values (handles) reserved per write
BUSY_TIMEOUT_MS = 5000  # how long a write here waits for another connection's (Python's default)
SQL_PUT_CONNECTION = SQL["connection"]


def disk_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying the disk is full or cannot be written."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _DISK_ERRORS


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    name TEXT PRIMARY KEY, owner_uid INTEGER NOT NULL, lines TEXT NOT NULL,
    created REAL NOT NULL, modified REAL NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
    uid INTEGER NOT NULL,  -- saved per user, as Windows does: nobody dials with another's password
    entry TEXT NOT NULL,  -- an entry name, or 'file:<path>|<name>' for a phonebook file's entry
    user TEXT NOT NULL, password TEXT, domain TEXT NOT NULL,
    PRIMARY KEY (uid, entry));
CREATE TABLE IF NOT EXISTS connections (
    handle INTEGER PRIMARY KEY, entry TEXT NOT NULL, state INTEGER NOT NULL,
    error INTEGER NOT NULL, record TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, time REAL NOT NULL, handle INTEGER, body TEXT NOT NULL);
"""


def _write_failed(exc: BaseException) -> None:
    log.error("a batch of writes failed: %r", exc)


def _own_key(name: str) -> bool:
    """Whether ``name`` can be its own credential key: a name holding ``|`` (refused for new
    entries, possible in an older store) could be a phonebook file's key — someone else's."""
    return "|" not in name


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        # Create the file private before SQLite opens it: it holds saved credentials.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._counters: dict[str, list[int]] = {}  # key: [last value given, reserved up to]
        # The hot path's writes (event log, connection records), batched off the event loop;
        # a batch a full disk refused waits in the writer and is retried with the next one.
        self.later = BatchWriter(
            path, on_error=_write_failed, keep_on=disk_error, keep_events=MAX_PENDING_EVENTS
        )

    @property
    def pending(self) -> int:
        """Writes a full disk refused, held in memory until they can be written."""
        return self.later.pending

    def flush_pending(self) -> bool:
        """Try what a full disk refused again; True once nothing is waiting."""
        self.later.retry()
        return not self.pending

    def add_schema(self, sql: str) -> None:
        self.db.executescript(sql)

    def close(self) -> None:
        self.later.close()
        for key, (used, _) in self._counters.items():  # the next start: right after the last
            with contextlib.suppress(sqlite3.Error):
                self.set_meta(key, str(used))
        self.db.close()

    # -- meta ---------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def next_counter(self, key: str, start: int = 1) -> int:
        """A persistent counter: values are never reused, across daemon restarts and crashes.

        Values are reserved COUNTER_BLOCK at a time (one write per block, not one per dial on
        the event loop); a crash skips what was left of the block, a clean ``close`` does not.
        """
        counter = self._counters.get(key)
        if counter is None or counter[0] >= counter[1]:
            used = counter[0] if counter else int(self.get_meta(key) or start - 1)
            counter = [used, used + COUNTER_BLOCK]
            self.set_meta(key, str(counter[1]))
            self._counters[key] = counter
        counter[0] += 1
        return counter[0]

    # -- entries ------------------------------------------------------------
    def put_entry(self, name: str, owner_uid: int, lines: list[tuple[str, str]]) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO entries(name, owner_uid, lines, created, modified) VALUES (?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET lines=excluded.lines, modified=excluded.modified",
            (name, owner_uid, json.dumps(lines), now, now),
        )

    def get_entry(self, name: str) -> tuple[int, list[tuple[str, str]]] | None:
        row = self.db.execute(
            "SELECT owner_uid, lines FROM entries WHERE name=?", (name,)
        ).fetchone()
        if not row:
            return None
        return row[0], [tuple(kv) for kv in json.loads(row[1])]

    def list_entries(self) -> list[tuple[str, int, list[tuple[str, str]]]]:
        rows = self.db.execute(
            "SELECT name, owner_uid, lines FROM entries ORDER BY name"
        ).fetchall()
        return [(n, o, [tuple(kv) for kv in json.loads(raw)]) for n, o, raw in rows]

    def count_entries(self, owner_uid: int) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM entries WHERE owner_uid=?", (owner_uid,))
        return int(row.fetchone()[0])

    def snapshot_entries(
        self, uid: int
    ) -> tuple[list[tuple[str, int, list[tuple[str, str]]]], set[str]]:
        """Every entry and the names ``uid`` saved a password for, read on a connection of its
        own so that a worker thread can do it while the event loop keeps using :attr:`db`."""
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        try:
            db.execute("BEGIN")  # one read transaction: a consistent snapshot (WAL)
            rows = db.execute("SELECT name, owner_uid, lines FROM entries ORDER BY name").fetchall()
            saved = db.execute(
                "SELECT entry FROM credentials WHERE uid=? AND password IS NOT NULL", (uid,)
            ).fetchall()
            db.execute("ROLLBACK")
        finally:
            db.close()
        entries = [(n, o, [(k, v) for k, v in json.loads(raw)]) for n, o, raw in rows]
        return entries, {r[0] for r in saved}

    def delete_entry(self, name: str) -> bool:
        with self.db:
            if _own_key(name):
                self.db.execute("DELETE FROM credentials WHERE entry=?", (name,))
            return self.db.execute("DELETE FROM entries WHERE name=?", (name,)).rowcount > 0

    def rename_entry(self, old: str, new: str) -> None:
        with self.db:
            self.db.execute("UPDATE entries SET name=? WHERE name=?", (new, old))
            if _own_key(old) and _own_key(new):
                self.db.execute("UPDATE credentials SET entry=? WHERE entry=?", (new, old))

    # -- credentials ----------------------------------------------------------
    def put_credentials(
        self, uid: int, entry: str, user: str, password: str | None, domain: str
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO credentials(uid, entry, user, password, domain) "
            "VALUES (?,?,?,?,?)",
            (uid, entry, user, password, domain),
        )

    def get_credentials(self, uid: int, entry: str) -> tuple[str, str | None, str] | None:
        row = self.db.execute(
            "SELECT user, password, domain FROM credentials WHERE uid=? AND entry=?", (uid, entry)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    # -- connection records ---------------------------------------------------
    def put_connection_nowait(
        self, handle: int, entry: str, state: int, error: int, record: dict[str, Any]
    ) -> bool:
        """Write the record now if nothing stands in the way, without waiting: False when
        another connection (the batch writer's) holds the write lock or the write fails. On
        the event loop a wait for the lock is SQLite's busy handler sleeping there."""
        if self.pending:
            return False  # what a full disk refused goes first, in order
        row = (handle, entry, state, error, json.dumps(record), time.time())
        self.db.execute("PRAGMA busy_timeout=0")
        try:
            self.db.execute(SQL_PUT_CONNECTION, row)
        except sqlite3.Error:
            return False
        finally:
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    def list_connections(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT record FROM connections ORDER BY handle").fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- event log --------------------------------------------------------------
    def last_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_since(self, seq: int, limit: int = 10000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def trim_events(self, keep: int) -> None:
        try:
            self.db.execute(
                "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?", (keep,)
            )
        except sqlite3.Error as exc:
            if not disk_error(exc):
                raise  # a full disk: trimmed at the next round
