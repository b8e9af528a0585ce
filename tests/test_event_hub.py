"""One event stream per client process (client/hub.py): shared by every dial, watcher and
RasConnectionNotification of the process; resumed from the last sequence number after a
cut-off or a daemon restart, with nothing lost and nothing twice."""

from __future__ import annotations

import threading
from typing import Any

from ras_helpers import events_of, ssh_entry, wait_for

from openras.client import bridge
from openras.client.hub import EventHub
from openras.codes import ErrorCode
from openras.events import EventKind

THREE_DIALS_ONE_STREAM = """
import json, threading
from openras import win32ras
from openras.client.ras import Ras
done = {{n: threading.Event() for n in ("lab1", "lab2", "lab3")}}
states = {{n: [] for n in done}}
def make(name):
    def cb(h, msg, state, error, ext):
        states[name].append(state)
        if state == win32ras.RASCS_Connected or error:
            done[name].set()
    return cb
changed = threading.Event()
win32ras.RasConnectionNotification(None, changed, win32ras.RASCN_Connection)
handles = [win32ras.Dial(None, None, (n, "", "", {user!r}, {password!r}, ""), make(n))[0]
           for n in done]
assert all(e.wait(30) for e in done.values()), states
assert changed.wait(10)
ras = Ras(win32ras._ras().client)
metrics = ras.client._client().get("/metrics").text
subscribers = [l for l in metrics.splitlines() if l.startswith("openras_event_subscribers ")]
for h in handles:
    win32ras.HangUp(h)
print(json.dumps({{"streams": ras.hub().streams_opened, "metric": subscribers,
                   "states": [len(s) for s in states.values()]}}))
"""


def test_dials_and_watchers_of_a_process_share_one_stream(daemon: Any, sshd: Any) -> None:
    for name in ("lab1", "lab2", "lab3"):
        ssh_entry(daemon, sshd, name)
    out = daemon.python_json(THREE_DIALS_ONE_STREAM.format(user=sshd.user, password=sshd.password))
    assert out["states"] == [9, 9, 9]  # every dial got its nine notifications
    assert out["streams"] == 1  # three dials and a watcher: one /v1/events connection
    assert [float(m.split()[1]) for m in out["metric"]] == [1]


class Collector:
    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.kinds: list[EventKind] = []
        self.lost: list[Any] = []
        self.changed = threading.Condition()

    def on_event(self, event: Any) -> None:
        with self.changed:
            self.seqs.append(event.seq)
            self.kinds.append(event.kind)
            self.changed.notify_all()

    def on_lost(self, exc: Any) -> None:
        self.lost.append(exc)

    def wait_seq(self, seq: int, timeout: float = 30) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.seqs and self.seqs[-1] >= seq, timeout)


def _last_seq(daemon: Any) -> int:
    with daemon.client() as c:
        return int(c.call("GET", "/v1/health")["last_seq"])


def test_a_cut_off_stream_resumes_with_nothing_lost_or_repeated(daemon_factory: Any) -> None:
    daemon = daemon_factory("[daemon]\nsubscriber_queue = 20\n")
    client = daemon.client()
    hub = EventHub(client.paths, autostart=False)
    got = Collector()
    since = _last_seq(daemon)
    sub = hub.subscribe(since, got.on_event, got.on_lost)
    with daemon.client() as c:  # the stream is up once this arrives
        c.call("POST", "/v1/entries", json={"name": "first", "lines": [["DEVICE", "ssh"]]})
    assert got.wait_seq(since + 1)
    # Stall the hub's loop while the daemon publishes far more than the stream may hold back.
    release = threading.Event()
    bridge.loop().call_soon_threadsafe(release.wait, 60)
    try:
        with daemon.client() as c:
            for i in range(1500):
                c.call("POST", "/v1/entries", json={"name": f"e{i}", "lines": [["DEVICE", "ssh"]]})
    finally:
        release.set()
    last = _last_seq(daemon)
    assert got.wait_seq(last), (got.seqs[-3:], last)
    sub.cancel()
    logged = [e["seq"] for e in events_of(daemon) if e["seq"] > since]
    assert got.seqs == logged  # every event, once, in order
    assert EventKind.OVERFLOW not in got.kinds  # the hub resumes; subscribers never see it
    assert hub.streams_opened >= 2 and got.lost == []  # it was cut off at least once


def _following(daemon: Any, autostart: bool) -> tuple[EventHub, Collector, int, Any]:
    """A hub of its own following the daemon, an entry's event seen through it: the hub, what
    it collected, the sequence number it started after, its subscription."""
    hub = EventHub(daemon.client().paths, autostart=autostart)
    got = Collector()
    since = _last_seq(daemon)
    sub = hub.subscribe(since, got.on_event, got.on_lost)
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": "before", "lines": [["DEVICE", "ssh"]]})
    assert got.wait_seq(_last_seq(daemon))
    return hub, got, since, sub


def test_a_daemon_restart_is_resumed_from_the_last_sequence_number(daemon: Any) -> None:
    hub, got, since, sub = _following(daemon, autostart=False)
    daemon.stop()
    daemon.start()
    with daemon.client() as c:
        c.call("POST", "/v1/entries", json={"name": "after", "lines": [["DEVICE", "ssh"]]})
    last = _last_seq(daemon)
    assert got.wait_seq(last), got.seqs
    sub.cancel()
    logged = [e["seq"] for e in events_of(daemon) if e["seq"] > since]
    assert got.seqs == logged  # the stopping daemon's events, the new one's, the entry after
    assert got.kinds.count(EventKind.ENTRY) == 2 and got.lost == []
    assert hub.streams_opened >= 2


def test_a_hub_never_starts_a_daemon_that_was_stopped(daemon: Any) -> None:
    """A stop is someone's decision: the hub of a client that may start daemons waits for a
    new one (its retry pauses) and then tells its subscribers, instead of starting one. (After
    a crash it does start one: test_daemon_crash_client.py.)"""
    from openras.client.transport import socket_answers

    _, got, _, sub = _following(daemon, autostart=True)
    daemon.stop()  # SIGTERM: the daemon says "stopping" and ends its streams
    wait_for(lambda: got.lost, 30)
    sub.cancel()
    assert got.lost[0].code == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE
    assert not socket_answers(str(daemon.socket))  # nobody started another
    assert EventKind.DAEMON in got.kinds


def test_async_dial_and_sync_watch_in_one_process_share_the_stream(daemon: Any, sshd: Any) -> None:
    """asyncio code on its own loop and a blocking watcher both read the one hub."""
    import asyncio

    from openras.client import AsyncClient
    from openras.client.hub import hub_for
    from openras.client.ras import AsyncRas, Ras

    ssh_entry(daemon, sshd)
    client = daemon.client()
    ras = Ras(client)
    watched: list[int] = []
    since = _last_seq(daemon)
    watching = threading.Thread(
        target=lambda: watched.extend(flag for flag, _ in _first(ras.watch(None, 0x1, since))),
        daemon=True,
    )
    watching.start()

    async def dial() -> list[str]:
        aras = AsyncRas(AsyncClient(paths=client.paths, autostart=False))
        async with aras.dial("lab", user=sshd.user, password=sshd.password) as conn:
            return [n.state.name for n in conn.notifications]

    names = asyncio.run(dial())
    assert names[-1] == "Connected" and len(names) == 9
    watching.join(30)
    assert watched == [1]  # RASCN_Connection
    assert hub_for(client.paths, False).streams_opened == 1
    wait_for(lambda: not ras.enumerate())


def _first(iterator: Any) -> list[Any]:
    for item in iterator:
        return [item]
    return []
