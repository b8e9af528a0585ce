"""Notification latency: a state change in the daemon → the win32ras callback in a client,
against a bare asyncio Unix-socket push server measured the same way in the same run.

openras: latency of each callback = the time the callback ran minus the event's publish time
in the daemon (same machine clock). Anchor: a bare asyncio server (its own process, like the
daemon) writes one line — a JSON event of the same size as openras's, holding its send time —
to every connected client; latency = when the measuring client had it minus the send time.
The anchor's measuring client is read two ways in the same run:

- "same work": what a win32ras program's process does with a notification — an asyncio loop
  thread reads the line, decodes its JSON and hands it to a callback thread, where it is timed
  (win32ras runs a process's callbacks on one thread, as Windows does);
- "blocking reader": the least a client can do — a blocking readline and json.loads in the
  main thread.

Both are measured with 1 subscriber (the measuring client only) and with 100: the 99 others
are stream readers in other processes (SUBSCRIBERS_PER_PROCESS connections each) that decode
every event (openras: ``AsyncClient.events()``; anchor: asyncio readline + json.loads).

Both servers run in a session of their own (the daemon always does), the readers and the
measuring clients in this script's: with the kernel's autogroup scheduling (Debian's default)
CPU is shared between sessions first.

Run as root:  .venv/bin/python bench/notify_latency.py [--dials 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _setup import Daemon, percentile, use_daemon

SUBSCRIBERS_PER_PROCESS = 10
BLOCKS = 10  # openras and the anchor take turns, this many times
SETTLE = 0.1  # seconds of quiet before each block, for both

# openras: event-stream readers (one /v1/events connection each), in one process.
SUBSCRIBERS = r"""
import asyncio, sys
from openras.client import AsyncClient
async def one():
    async with AsyncClient() as c:
        async for e in c.events():
            pass
async def main(count):
    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.sleep(0)
    print("started", flush=True)
    await asyncio.gather(*tasks)
asyncio.run(main(int(sys.argv[1])))
"""

# The anchor's server: accepts clients; on each line from its control connection ("push
# same" / "push blocking", "fill same" / "fill blocking") writes one line (the event template of
# argv[2] with its send time; "fill": an event that is read but not timed) to that measuring
# client first, then to every reader: openras's measuring client is first too (the daemon writes
# one client process's streams together, in the order the processes subscribed, and this
# process's stream is the oldest).
ANCHOR_SERVER = r"""
import asyncio, json, sys, time
readers, measuring = [], {}
template = json.loads(sys.argv[2])
async def handle(reader, writer):
    first = (await reader.readline()).strip().decode()
    if first == "control":
        while line := await reader.readline():
            verb, target = line.decode().split()
            template["time"] = time.time()
            template["fill"] = verb == "fill"
            data = (json.dumps(template) + "\n").encode()
            measuring[target].write(data)
            for w in readers:
                w.write(data)
        return
    if first == "reader":
        readers.append(writer)
    else:
        measuring[first] = writer
    await reader.read()
    if writer in readers:
        readers.remove(writer)  # gone: no more writes to it
async def main(path):
    server = await asyncio.start_unix_server(handle, path)
    print("started", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main(sys.argv[1]))
"""

# The anchor's extra readers, in one process: each decodes every line, as openras's do.
ANCHOR_READERS = r"""
import asyncio, json, sys
async def one(path):
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(b"reader\n")
    while line := await reader.readline():
        json.loads(line)
async def main(path, count):
    tasks = [asyncio.create_task(one(path)) for _ in range(count)]
    await asyncio.sleep(0.5)
    print("started", flush=True)
    await asyncio.gather(*tasks)
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def spawn(
    code: str, *args: str, env: dict[str, str] | None = None, session: bool = False
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=session,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    return proc


def spread(total: int) -> list[int]:
    """``total`` readers over processes of at most SUBSCRIBERS_PER_PROCESS."""
    sizes = [SUBSCRIBERS_PER_PROCESS] * (total // SUBSCRIBERS_PER_PROCESS)
    if total % SUBSCRIBERS_PER_PROCESS:
        sizes.append(total % SUBSCRIBERS_PER_PROCESS)
    return sizes


class SameWorkReader:
    """The anchor's measuring client shaped like a win32ras process: an asyncio loop thread
    reads and decodes each line and hands it to a callback thread, which times it."""

    def __init__(self, path: str) -> None:
        self.received: queue.SimpleQueue[float] = queue.SimpleQueue()
        self._callbacks: queue.SimpleQueue[dict[str, object]] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._callback_thread, daemon=True).start()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._task = asyncio.run_coroutine_threadsafe(self._read(path), self._loop)
        assert self._ready.wait(5)

    async def _read(self, path: str) -> None:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"same\n")
        self._ready.set()
        while line := await reader.readline():
            event = json.loads(line)
            if not event["fill"]:  # openras's hangup and released events make no callback
                self._callbacks.put(event)

    def _callback_thread(self) -> None:
        while True:
            event = self._callbacks.get()
            self.received.put(time.time() - float(event["time"]))  # type: ignore[arg-type]

    def close(self) -> None:
        self._task.cancel()
        time.sleep(0.05)
        self._loop.call_soon_threadsafe(self._loop.stop)


class Anchor:
    """The bare server's side: its readers, and both measuring clients."""

    def __init__(self, path: str, subscribers: int) -> None:
        self.readers = [spawn(ANCHOR_READERS, path, str(n)) for n in spread(subscribers - 1)]
        self.control = socket.socket(socket.AF_UNIX)
        self.control.connect(path)
        self.control.sendall(b"control\n")
        self.same = SameWorkReader(path)
        self.me = socket.socket(socket.AF_UNIX)
        self.me.connect(path)
        self.me.sendall(b"blocking\n")
        self.stream = self.me.makefile("rb")
        time.sleep(0.2)  # registered before the first push
        self.same_work: list[float] = []
        self.blocking: list[float] = []

    def batch(self, timeline: list[tuple[float, bool]]) -> None:
        """Replay an openras block's event stream: each event at the same offset from the
        block's first one, timed (a state change, a callback) or read only (hangup, released);
        once to the same-work client, once to the blocking reader."""
        time.sleep(SETTLE)
        self._replay(timeline, b"same")
        for _ in range(sum(1 for _, timed in timeline if timed)):
            self.same_work.append(self.same.received.get(timeout=10))
        time.sleep(SETTLE)
        reader = threading.Thread(target=self._read_blocking, args=(timeline,))
        reader.start()
        self._replay(timeline, b"blocking")
        reader.join(30)

    def _replay(self, timeline: list[tuple[float, bool]], target: bytes) -> None:
        start = time.monotonic()
        for offset, timed in timeline:
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.control.sendall((b"push " if timed else b"fill ") + target + b"\n")

    def _read_blocking(self, timeline: list[tuple[float, bool]]) -> None:
        for _ in timeline:
            event = json.loads(self.stream.readline())
            if not event["fill"]:
                self.blocking.append(time.time() - float(event["time"]))

    def close(self) -> None:
        self.same.close()
        self.me.close()
        self.control.close()
        for proc in self.readers:
            proc.kill()
            proc.wait()


class Openras:
    """The daemon's side: its event-stream readers, and win32ras dials with a callback."""

    def __init__(self, daemon: Daemon, subscribers: int) -> None:
        self.daemon = daemon
        self.readers = [spawn(SUBSCRIBERS, str(n), env=daemon.env) for n in spread(subscribers - 1)]
        with daemon.client() as c:
            while _subscribers(c) < subscribers - 1:
                time.sleep(0.05)
            self.since = int(c.call("GET", "/v1/health")["last_seq"])
        self.received: list[tuple[int, int, int, float]] = []

    def batch(self, dials: int) -> list[tuple[float, bool]]:
        """``dials`` dials, one after another; returns the block's event stream as the daemon
        published it: each event's offset from the first, and whether it made a callback."""
        from openras import win32ras

        time.sleep(SETTLE)
        with self.daemon.client() as c:
            before = int(c.call("GET", "/v1/health")["last_seq"])
        for _ in range(dials):
            done = threading.Event()

            def cb(
                h: int, msg: int, state: int, error: int, ext: int, done: threading.Event = done
            ) -> None:
                self.received.append((h, state, error, time.time()))
                if error or state == win32ras.RASCS_Connected:
                    done.set()

            handle, rc = win32ras.Dial(None, None, ("refused", "", "", "u", "p", ""), cb)
            assert rc == 0
            assert done.wait(10), (handle, self.received[-2:])
            win32ras.HangUp(handle)
        with self.daemon.client() as c:
            for _ in range(500):  # the last hang-up's events may follow HangUp's return
                log = c.call("GET", "/v1/events/log", params={"since": before, "limit": 10000})
                if log and log[-1]["kind"] == "released":
                    break
                time.sleep(0.01)
        first = log[0]["time"]
        return [(e["time"] - first, e["kind"] == "state") for e in log]

    def latencies(self) -> tuple[list[float], dict[str, Any]]:
        """Each callback's latency, and an event as the daemon sent it (the anchor's line)."""
        with self.daemon.client() as c:
            log = c.call("GET", "/v1/events/log", params={"since": self.since, "limit": 10000})
        states = [e for e in log if e["kind"] == "state"]
        published = {(e["handle"], e["state"], e["error"]): e["time"] for e in states}
        received = self.received
        return [when - published[(h, st, err)] for h, st, err, when in received], states[-1]

    def close(self) -> None:
        for proc in self.readers:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dials", type=int, default=150)
    args = parser.parse_args()
    daemon = Daemon("[daemon]\nsubscriber_queue = 100000\n").start()
    path = str(daemon.home / "anchor.sock")
    server = None
    try:
        use_daemon(daemon)
        # An empty known-hosts file (no key trusted yet, but one to read): the dial goes on to
        # its TCP connect, which port 1 on loopback refuses at once: each dial is OpenPort,
        # then its failure.
        known_hosts = daemon.home / "known_hosts"
        known_hosts.write_bytes(b"")
        with daemon.client() as c:
            c.call(
                "POST",
                "/v1/entries",
                json={
                    "name": "refused",
                    "lines": [
                        ["DEVICE", "ssh"],
                        ["PhoneNumber", "127.0.0.1:1"],
                        ["SshKnownHosts", str(known_hosts)],
                    ],
                },
            )
        # One dial first: its event is the anchor's line (same fields, same size).
        warm = Openras(daemon, 1)
        warm.batch(1)
        template = warm.latencies()[1]
        warm.close()
        # The anchor's server in a session of its own, as the daemon is (started by the
        # harness, or autostarted by a client, or by systemd): with autogroup scheduling
        # the kernel shares the CPU between sessions first, so a server sharing this
        # script's session would pool its CPU with the readers' and the measuring client's.
        server = spawn(ANCHOR_SERVER, path, json.dumps(template), session=True)
        rows = []
        for count in (1, 100):
            # Interleaved in blocks, so both sides see the same machine over the run.
            ours, bare = Openras(daemon, count), Anchor(path, count)
            try:
                for _ in range(BLOCKS):
                    bare.batch(ours.batch(args.dials // BLOCKS))
                rows.append((count, ours.latencies()[0], bare.same_work, bare.blocking))
            finally:
                ours.close()
                bare.close()
        print("Notification latency, state change → callback (ms), same run:")
        for count, ours, same, blocking in rows:
            o50, o99 = percentile(ours, 50) * 1000, percentile(ours, 99) * 1000
            print(
                f"  {count:>3} subscriber(s), {len(ours)} notifications:"
                f"  openras p50 {o50:6.2f} p99 {o99:6.2f}"
            )
            for name, bare in (("same work", same), ("blocking reader", blocking)):
                b50, b99 = percentile(bare, 50) * 1000, percentile(bare, 99) * 1000
                print(
                    f"      bare asyncio server, {name:<16} p50 {b50:6.2f} p99 {b99:6.2f}"
                    f"   openras ratio p50 {o50 / b50:5.1f}x p99 {o99 / b99:5.1f}x"
                )
        one, five, fifteen = os.getloadavg()
        print(f"  load average {one:.2f} {five:.2f} {fifteen:.2f}")
        return 0
    finally:
        if server is not None:
            server.kill()
            server.wait()
        Path(path).unlink(missing_ok=True)
        daemon.cleanup()


def _subscribers(client: object) -> int:
    text = client._client().get("/metrics").text  # type: ignore[attr-defined]
    for line in text.splitlines():
        if line.startswith("openras_event_subscribers "):
            return int(float(line.split()[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
