"""The store's persistent counter (connection handles): never a value twice, across a clean
restart and across a crash, with one write per block of values, not one per dial."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openras.store import COUNTER_BLOCK, Store


def _meta(path: Path, key: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0])


def test_counter_values_are_never_given_twice(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = Store(str(path))
    first = [store.next_counter("handle") for _ in range(COUNTER_BLOCK + 3)]
    assert first == list(range(1, COUNTER_BLOCK + 4))
    # What is on disk is a bound no value given can pass: one write per block.
    assert _meta(path, "handle") == 2 * COUNTER_BLOCK
    # A crash (no close): the next daemon starts after the reserved block, skipping the rest.
    store.later.close()
    store.db.close()
    crashed = Store(str(path))
    assert crashed.next_counter("handle") == 2 * COUNTER_BLOCK + 1
    # A clean close records the last value given: the next daemon goes on right after it.
    crashed.close()
    clean = Store(str(path))
    assert clean.next_counter("handle") == 2 * COUNTER_BLOCK + 2
    assert clean.next_counter("other", start=100) == 100  # each key counts on its own
    clean.close()
