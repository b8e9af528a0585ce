"""SQLite (WAL) store: phonebook entries, saved credentials, live connection records, the event log.

Other components (the MPR's remembered connections) add their tables with
:meth:`Store.add_schema`. The database file is created 0600: it holds saved passwords.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from typing import Any

from .store_batch import BatchWriter

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
    logging.getLogger("openras.store").error("a batch of writes failed: %r", exc)


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        # Create the file private before SQLite opens it: it holds saved credentials.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        # The hot path's writes (event log, connection records), batched off the event loop.
        self.later = BatchWriter(path, on_error=_write_failed)

    def add_schema(self, sql: str) -> None:
        self.db.executescript(sql)

    def close(self) -> None:
        self.later.close()
        self.db.close()

    # -- meta ---------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def next_counter(self, key: str, start: int = 1) -> int:
        """A persistent counter: values are never reused, across daemon restarts too."""
        with self.db:
            value = int(self.get_meta(key, str(start - 1)) or start - 1) + 1
            self.set_meta(key, str(value))
        return value

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

    def delete_entry(self, name: str) -> bool:
        with self.db:
            self.db.execute("DELETE FROM credentials WHERE entry=?", (name,))
            return self.db.execute("DELETE FROM entries WHERE name=?", (name,)).rowcount > 0

    def rename_entry(self, old: str, new: str) -> None:
        with self.db:
            self.db.execute("UPDATE entries SET name=? WHERE name=?", (new, old))
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
    def put_connection(
        self, handle: int, entry: str, state: int, error: int, record: dict[str, Any]
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO connections(handle, entry, state, error, record, updated) "
            "VALUES (?,?,?,?,?,?)",
            (handle, entry, state, error, json.dumps(record), time.time()),
        )

    def delete_connection(self, handle: int) -> None:
        self.db.execute("DELETE FROM connections WHERE handle=?", (handle,))

    def list_connections(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT record FROM connections ORDER BY handle").fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- event log --------------------------------------------------------------
    def append_event(self, seq: int, when: float, handle: int | None, body: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO events(seq, time, handle, body) VALUES (?,?,?,?)",
            (seq, when, handle, json.dumps(body)),
        )

    def last_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_since(self, seq: int, limit: int = 10000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def trim_events(self, keep: int) -> None:
        self.db.execute(
            "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?", (keep,)
        )
