"""The network connections a daemon holds, on disk: a daemon that dies cannot say that its
mappings are gone, so the next one does — a ``lost`` NetChanged for each row left behind."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..store import Store, disk_error

SCHEMA = """
CREATE TABLE IF NOT EXISTS mpr_live (
    id INTEGER PRIMARY KEY, uid INTEGER NOT NULL, local_name TEXT, remote_name TEXT NOT NULL,
    provider TEXT NOT NULL);
"""


@dataclass(frozen=True)
class LiveRow:
    uid: int
    local_name: str | None
    remote_name: str
    provider: str


class LiveMappings:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.add_schema(SCHEMA)

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        try:
            self.store.db.execute(sql, args)
        except sqlite3.Error as exc:
            if not disk_error(exc):  # a full disk only costs the crash report of this mapping
                raise

    def add(self, ident: int, row: LiveRow) -> None:
        self._write(
            "INSERT OR REPLACE INTO mpr_live(id, uid, local_name, remote_name, provider) "
            "VALUES (?,?,?,?,?)",
            (ident, row.uid, row.local_name, row.remote_name, row.provider),
        )

    def remove(self, ident: int) -> None:
        self._write("DELETE FROM mpr_live WHERE id=?", (ident,))

    def clear(self) -> None:
        self._write("DELETE FROM mpr_live", ())

    def take_all(self) -> list[LiveRow]:
        """What a previous daemon left (and forget it)."""
        rows = self.store.db.execute(
            "SELECT uid, local_name, remote_name, provider FROM mpr_live ORDER BY id"
        ).fetchall()
        self.clear()
        return [LiveRow(int(u), ln, rn, p) for u, ln, rn, p in rows]
