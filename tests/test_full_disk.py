"""A full disk never strands a link (issue 10, item 2): with OPENRAS_HOME on a full file system,
hang-up still tears the link down (from memory), the API answers with a code (not a 500), and
the record is written once space is back."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from typing import Any

from peers import require as need
from ras_helpers import port_open, ssh_entry, wait_for

from openras.client import ApiError
from openras.client.ras import Ras


def _fill(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)


def _records(home: str) -> list[int]:
    db = sqlite3.connect(f"file:{home}/openras.db?mode=ro", uri=True)
    try:
        return [r[0] for r in db.execute("SELECT handle FROM connections")]
    finally:
        db.close()


def _pending(d: Any) -> int:
    c = d.client()
    c._client()
    text = c._http.get("/metrics").text
    return int(
        float(
            next(ln for ln in text.splitlines() if ln.startswith("openras_store_pending ")).split()[
                1
            ]
        )
    )


def test_full_disk_hangup_still_ends_the_link(daemon_factory: Any, sshd: Any) -> None:
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    d = daemon_factory(start=False)
    home = str(d.home)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", home], check=True)
    filler = os.path.join(home, "filler")
    try:
        d.start()
        ssh_entry(d, sshd)
        ras = Ras(d.client())
        started = ras.dial("lab", user=sshd.user, password=sshd.password)
        notes = list(ras.notifications(started.handle, started.seq))
        assert notes[-1].error == 0, notes
        handle = started.handle
        with d.client() as c:
            port = c.call("GET", f"/v1/connections/{handle}/projection/0x8021")["dwSocksPort"]
        assert port_open(port)

        _fill(filler)
        # Writes now fail; the API says so with a code and nothing answers 500.
        with d.client() as c:
            for _ in range(3):  # a few writes, so SQLite's spare pages are used up too
                try:
                    c.call("POST", "/v1/entries", json={"name": "x" * 200, "lines": []})
                    c.call("DELETE", f"/v1/entries/{'x' * 200}")
                except ApiError as exc:
                    assert exc.code == 112, exc
        ras.hangup(handle)
        assert ras.wait_gone(handle, 30), "the handle was not released on a full disk"
        assert not port_open(port)
        assert _pending(d) > 0  # the teardown's records wait in memory

        os.unlink(filler)
        # Once there is room, the record of the released handle is gone from the store too.
        wait_for(lambda: handle not in _records(home), timeout=30)
        assert _pending(d) == 0
        assert d.client().call("GET", "/v1/connections") == []
        d.stop()
        d.start()
        assert d.client().call("GET", "/v1/connections") == []
    finally:
        d.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(filler)
        subprocess.run(["umount", "-l", home], check=False)
