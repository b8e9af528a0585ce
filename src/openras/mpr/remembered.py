"""Remembered (persistent) connections, in the daemon's store (reference/mpr.md §4).

Only successful connections that redirect a local name are remembered — never failed or
deviceless ones. An entry keeps the remote name, local name, user name, provider and
type, and the password the connection was made with, so the daemon can restore it at start
without asking anyone. The password lives only in the store's database file (created 0600,
see openras.store); :meth:`RememberedEntry.to_json` leaves it out and its repr hides it, so
it never reaches the API or a log line.

Also kept per user: the ``net use /PERSISTENT`` default ("New connections will be
remembered"), which Windows keeps in the user's profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS mpr_remembered (
    uid INTEGER NOT NULL, local_name TEXT NOT NULL, remote_name TEXT NOT NULL,
    user TEXT, provider TEXT NOT NULL, type INTEGER NOT NULL, password TEXT,
    created REAL NOT NULL, PRIMARY KEY (uid, local_name));
"""


@dataclass
class RememberedEntry:
    uid: int
    local_name: str
    remote_name: str
    user: str | None
    provider: str
    type: int
    password: str | None = field(default=None, repr=False)
    created: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "local_name": self.local_name,
            "remote_name": self.remote_name,
            "user": self.user,
            "provider": self.provider,
            "type": self.type,
            "created": self.created,
            "have_password": self.password is not None,
        }


class Remembered:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.add_schema(SCHEMA)

    def put(self, entry: RememberedEntry) -> None:
        entry.created = entry.created or time.time()
        self.store.db.execute(
            "INSERT OR REPLACE INTO mpr_remembered(uid, local_name, remote_name, user, provider, "
            "type, password, created) VALUES (?,?,?,?,?,?,?,?)",
            (
                entry.uid,
                entry.local_name,
                entry.remote_name,
                entry.user,
                entry.provider,
                entry.type,
                entry.password,
                entry.created,
            ),
        )

    def get(self, uid: int, local_name: str) -> RememberedEntry | None:
        row = self.store.db.execute(
            "SELECT uid, local_name, remote_name, user, provider, type, password, created "
            "FROM mpr_remembered WHERE uid=? AND local_name=?",
            (uid, local_name),
        ).fetchone()
        return RememberedEntry(*row) if row else None

    def forget(self, uid: int, local_name: str) -> bool:
        return (
            self.store.db.execute(
                "DELETE FROM mpr_remembered WHERE uid=? AND local_name=?", (uid, local_name)
            ).rowcount
            > 0
        )

    def list(self, uid: int | None = None) -> list[RememberedEntry]:
        """Every remembered connection (uid None) or one user's, by user then local name."""
        sql = (
            "SELECT uid, local_name, remote_name, user, provider, type, password, created "
            "FROM mpr_remembered"
        )
        args: tuple[Any, ...] = ()
        if uid is not None:
            sql += " WHERE uid=?"
            args = (uid,)
        return [
            RememberedEntry(*row)
            for row in self.store.db.execute(sql + " ORDER BY uid, local_name", args)
        ]

    # -- the /PERSISTENT default ---------------------------------------------------------
    def persistent_default(self, uid: int) -> bool:
        return self.store.get_meta(f"mpr.persistent.{uid}", "1") == "1"

    def set_persistent_default(self, uid: int, value: bool) -> None:
        self.store.set_meta(f"mpr.persistent.{uid}", "1" if value else "0")
