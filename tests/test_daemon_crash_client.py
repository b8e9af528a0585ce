"""A daemon that dies under its clients (issue 10, item 3): a dial view always ends — with the
recovered record's error once a daemon is back, or with a clear error when none can start — and
a long-lived client's next call starts a daemon again instead of answering 711."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import threading
from typing import Any

import pytest
from harness import running
from ras_helpers import SilentPeer, silent_entry, wait_for

from openras.client import ApiError, Client
from openras.client.ras import Notification, Ras
from openras.codes import RASCS, ErrorCode


class DyingDaemon:
    """What a client meets while a daemon dies: a socket that accepts, then closes at once
    (``closes`` times), after which it is gone."""

    def __init__(self, path: str, closes: int = 3) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(16)
        self.closes = closes
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(self.closes):
            conn, _ = self.sock.accept()
            conn.close()
        os.unlink(self.path)
        self.sock.close()


def _subscribers(daemon: Any) -> int:
    c = daemon.client()
    c._client()
    text = c._http.get("/metrics").text
    c.close()
    line = next(ln for ln in text.splitlines() if ln.startswith("openras_event_subscribers "))
    return int(float(line.split()[1]))


def _stop(pid: int) -> None:
    """Stop a daemon a client started: SIGTERM, so it says it is stopping and no client's event
    hub takes it for a crash and starts another (a SIGKILL would look like one)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: _gone(pid), 20)


def _gone(pid: int) -> bool:
    return not running(pid)


def _follow(ras: Ras, handle: int, since: int, out: list[Any]) -> None:
    try:
        out.extend(ras.notifications(handle, since))
    except Exception as exc:  # the test reports what ended the view
        out.append(exc)


def _dial_a_silent_peer(
    daemon: Any, peer: SilentPeer, tmp_path: Any, autostart: bool
) -> tuple[Ras, Any, threading.Thread, list[Any]]:
    """A dial that hangs at the SSH handshake (the peer never answers), followed by a thread
    into ``notes``: the daemon can be killed in the middle of it."""
    silent_entry(daemon, "slow", peer.port, tmp_path)
    ras = Ras(Client(home=str(daemon.home), autostart=autostart))
    started = ras.dial("slow", user="u", password="p")
    assert peer.accepted.wait(20)
    notes: list[Any] = []
    t = threading.Thread(target=_follow, args=(ras, started.handle, started.seq, notes))
    t.start()
    return ras, started, t, notes


def test_dial_view_ends_with_the_recovered_error_after_a_crash(daemon: Any, tmp_path: Any) -> None:
    peer = SilentPeer()
    started_pids: list[int] = []
    try:
        ras, started, t, notes = _dial_a_silent_peer(daemon, peer, tmp_path, autostart=True)
        wait_for(lambda: _subscribers(daemon) >= 1)
        daemon.kill()  # SIGKILL mid-dial; its socket still accepts for a moment
        dying = DyingDaemon(str(daemon.socket))
        t.join(60)
        assert not t.is_alive(), "the dial view never ended"
        assert not dying.thread.is_alive()
        health = ras.client.call("GET", "/v1/health")
        started_pids.append(health["pid"])
        last = notes[-1]
        assert isinstance(last, Notification), notes
        assert last.handle == started.handle and last.error == ErrorCode.ERROR_NO_CONNECTION
        assert last.state == RASCS.Disconnected
    finally:
        for pid in started_pids:
            _stop(pid)
        peer.close()


def test_dial_view_ends_with_a_clear_error_when_no_daemon_comes_back(
    daemon: Any, tmp_path: Any
) -> None:
    peer = SilentPeer()
    try:
        _, started, t, notes = _dial_a_silent_peer(daemon, peer, tmp_path, autostart=False)
        daemon.kill()
        t.join(60)
        assert not t.is_alive(), "the dial view never ended"
        last = notes[-1]
        assert isinstance(last, Notification), notes
        assert last.handle == started.handle
        assert last.error == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE
        assert last.state == RASCS.Disconnected
    finally:
        peer.close()


def test_long_lived_client_restarts_the_daemon_after_a_crash(daemon: Any) -> None:
    client = Client(home=str(daemon.home), autostart=True)
    first = client.call("GET", "/v1/health")["pid"]
    daemon.kill()
    try:
        second = client.call("GET", "/v1/health")["pid"]
        assert second != first
        assert client.call("GET", "/v1/connections") == []
    finally:
        pid = client.call("GET", "/v1/health")["pid"]
        client.close()
        _stop(pid)


def test_a_daemon_killed_right_after_the_dial_answer_still_knows_the_handle(
    daemon: Any, tmp_path: Any
) -> None:
    """The dial's first record is in the store before its answer: killed at once (well inside
    the write batches' 10 ms), the next daemon recovers the handle and says how it ended, so a
    dialer following it is never left waiting."""
    peer = SilentPeer()
    started_pids: list[int] = []
    try:
        silent_entry(daemon, "slow", peer.port, tmp_path)
        ras = Ras(Client(home=str(daemon.home), autostart=True))
        for _ in range(3):
            started = ras.dial("slow", user="u", password="p")
            daemon_pid = ras.client.call("GET", "/v1/health")["pid"]
            os.kill(daemon_pid, signal.SIGKILL)
            wait_for(lambda pid=daemon_pid: _gone(pid), 20)
            record = ras.status(started.handle)  # a new daemon, started by this client
            started_pids.append(ras.client.call("GET", "/v1/health")["pid"])
            assert record.state == RASCS.Disconnected
            assert record.error == ErrorCode.ERROR_NO_CONNECTION
            notes = list(ras.notifications(started.handle, started.seq))
            assert notes and notes[-1].error == ErrorCode.ERROR_NO_CONNECTION
    finally:
        for pid in started_pids:
            _stop(pid)
        peer.close()


def test_a_dial_waiting_for_its_first_record_holds_nothing_else_up(
    daemon: Any, tmp_path: Any
) -> None:
    """A dial's first record is written on the store's thread, the dial waiting for it: with
    the database's write lock held by someone else (the test, as a long write batch would),
    the daemon goes on answering — here a second dial of the same entry, refused as in
    progress — and the first dial goes on once the lock is free, its record in the store.
    (Written on the loop, SQLite's busy handler slept there: the whole daemon waited.)"""
    peer = SilentPeer()
    database = str(daemon.home / "openras.db")
    results: list[Any] = []

    def dial() -> None:
        try:
            results.append(Ras(Client(home=str(daemon.home))).dial("slow", user="u", password="p"))
        except ApiError as exc:
            results.append(exc)

    try:
        silent_entry(daemon, "slow", peer.port, tmp_path)
        # One dial first: the blocks of handles and sequence numbers it reserves are written
        # on the loop (once a few hundred dials), and with the lock held would wait.
        with daemon.client() as c:
            first = Ras(c).dial("slow", user="u", password="p")
            c.call("DELETE", f"/v1/connections/{first.handle}")
            wait_for(lambda: c.call("GET", "/v1/connections") == [])
        lock = sqlite3.connect(database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            dials = [threading.Thread(target=dial) for _ in range(2)]
            for t in dials:
                t.start()
            # Whichever came second was answered while the first waits for the store.
            wait_for(lambda: len(results) == 1)
            refused = results[0]
            assert isinstance(refused, ApiError), refused
            assert refused.code == ErrorCode.ERROR_DIAL_ALREADY_IN_PROGRESS
            assert sum(t.is_alive() for t in dials) == 1
            with daemon.client() as c:
                assert c.call("GET", "/v1/connections") == []  # no one's to see yet
        finally:
            lock.execute("COMMIT")
            lock.close()
        for t in dials:
            t.join(30)
        started = results[1]
        assert not isinstance(started, ApiError), started
        with contextlib.closing(sqlite3.connect(database)) as db:
            row = db.execute(
                "SELECT entry FROM connections WHERE handle=?", (started.handle,)
            ).fetchone()
        assert row == ("slow",)
        with daemon.client() as c:
            c.call("DELETE", f"/v1/connections/{started.handle}")
    finally:
        peer.close()


@pytest.mark.parametrize("in_asyncio", [False, True])
def test_a_dial_view_starts_no_daemon_after_a_stop(daemon: Any, in_asyncio: bool) -> None:
    """A stop is someone's decision: a dial view whose final event never came (here, a handle
    nobody dialed) ends with the loss once its hub gives up, and no daemon is started to ask
    how the dial ended, as none is started by the hub itself."""
    from openras.client import AsyncClient
    from openras.client.ras import AsyncRas
    from openras.client.transport import socket_answers

    since = int(daemon.client().call("GET", "/v1/health")["last_seq"])
    notes: list[Any] = []

    def follow() -> None:
        try:
            if in_asyncio:

                async def run() -> None:
                    ras = AsyncRas(AsyncClient(paths=daemon.client().paths, autostart=True))
                    notes.extend([n async for n in ras.notifications(424242, since)])

                asyncio.run(run())
            else:
                ras = Ras(Client(home=str(daemon.home), autostart=True))
                notes.extend(ras.notifications(424242, since))
        except Exception as exc:  # the test reports what ended the view
            notes.append(exc)

    t = threading.Thread(target=follow)
    t.start()
    wait_for(lambda: _subscribers(daemon) >= 1)
    daemon.stop()  # SIGTERM: the daemon says "stopping"
    t.join(60)
    assert not t.is_alive(), "the dial view never ended"
    assert notes and isinstance(notes[-1], Notification), notes
    assert notes[-1].error == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE
    assert notes[-1].state == RASCS.Disconnected
    assert not socket_answers(str(daemon.socket))  # nobody started another
