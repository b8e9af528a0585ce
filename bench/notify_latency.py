"""Notification latency: a state change in the daemon → the win32ras callback in a client.

Latency of each callback = the time the callback ran minus the event's publish time in the
daemon (same machine clock). Measured with 1 subscriber (the dialing client only) and with 100
(99 more event-stream subscribers in another process, each reading every event).

Run as root:  .venv/bin/python bench/notify_latency.py [--dials 150]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

from _setup import Daemon, percentile, use_daemon

SUBSCRIBERS = r"""
import asyncio, os, sys
from openras.client import AsyncClient
async def one(ready):
    async with AsyncClient() as c:
        n = 0
        async for e in c.events():
            if n == 0: ready.set()
            n += 1
async def main(count):
    readies = [asyncio.Event() for _ in range(count)]
    tasks = [asyncio.create_task(one(r)) for r in readies]
    await asyncio.sleep(0)
    print("started", flush=True)
    await asyncio.gather(*tasks)
asyncio.run(main(int(sys.argv[1])))
"""


def run(dials: int) -> list[float]:
    from openras import win32ras

    latencies: list[float] = []
    received: list[tuple[int, int, int, float]] = []
    for _ in range(dials):
        done = threading.Event()

        def cb(
            h: int, msg: int, state: int, error: int, ext: int, done: threading.Event = done
        ) -> None:
            received.append((h, state, error, time.time()))
            if error or state == win32ras.RASCS_Connected:
                done.set()

        handle, rc = win32ras.Dial(None, None, ("refused", "", "", "u", "p", ""), cb)
        assert rc == 0
        assert done.wait(10)
        win32ras.HangUp(handle)
    from openras.client import Client

    with Client() as c:
        log = c.call("GET", "/v1/events/log", params={"since": 0, "limit": 10000})
    published = {
        (e["handle"], e["state"], e["error"]): e["time"] for e in log if e["kind"] == "state"
    }
    for h, state, error, when in received:
        latencies.append(when - published[(h, state, error)])
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dials", type=int, default=150)
    args = parser.parse_args()
    daemon = Daemon("[daemon]\nsubscriber_queue = 100000\n").start()
    subs = None
    try:
        use_daemon(daemon)
        with daemon.client() as c:
            # Port 1 on loopback refuses at once: each dial is OpenPort, then OpenPort with 678.
            c.call(
                "POST",
                "/v1/entries",
                json={
                    "name": "refused",
                    "lines": [
                        ["DEVICE", "ssh"],
                        ["PhoneNumber", "127.0.0.1:1"],
                        ["SshKnownHosts", "/dev/null"],
                    ],
                },
            )
        rows = []
        for count in (1, 100):
            if count > 1:
                subs = subprocess.Popen(
                    [sys.executable, "-c", SUBSCRIBERS, str(count - 1)],
                    env=daemon.env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert subs.stdout.readline().strip() == "started"
                with daemon.client() as c:
                    while c.call("GET", "/v1/health") and _subscribers(c) < count - 1:
                        time.sleep(0.05)
            lat = run(args.dials)
            rows.append((count, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000, len(lat)))
        print("Notification latency, daemon state change → win32ras callback:")
        for count, p50, p99, n in rows:
            print(
                f"  {count:>3} subscriber(s): p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
                f"   ({n} notifications)"
            )
        return 0
    finally:
        if subs is not None:
            subs.kill()
            subs.wait()
        daemon.cleanup()


def _subscribers(client: object) -> int:
    text = client._client().get("/metrics").text  # type: ignore[attr-defined]
    for line in text.splitlines():
        if line.startswith("openras_event_subscribers "):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
