"""Load under abuse: 200 concurrent clients dial, list and hang up real SSH links for a fixed time
while a hostile local user sends oversized, malformed and never-read requests.

Loopback only: one OpenSSH sshd (tests/peers) and one daemon, both started and stopped here.
Clients are asyncio tasks spread over worker processes (root, like an administrator's tools);
the hostile client runs as ``nobody``. Prints requests served, p99 latency, errors by code, the
daemon's RSS and descriptors before and after, and checks that nothing was lost: every dial's
view ended, and no link or handle is left once the clients are done.

Run as root:  .venv/bin/python bench/load.py [--clients 200] [--seconds 60] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from _setup import Daemon, Sshd, percentile, rss_kib, ssh_key_entries

NOBODY = 65534


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- one worker process: many clients --------------------------------------------------------
async def client_loop(
    index: int, home: str, user: str, deadline: float, stats: dict[str, object]
) -> None:
    from openras.client import ApiError, AsyncClient
    from openras.client.ras import AsyncRas

    latencies: list[float] = stats["latencies"]  # type: ignore[assignment]
    errors: Counter[str] = stats["errors"]  # type: ignore[assignment]
    client = AsyncClient(home=home, autostart=False, timeout=120)
    ras = AsyncRas(client)

    async def timed(method: str, path: str, **kw: object) -> object:
        t = time.monotonic()
        try:
            return await client.call(method, path, **kw)  # type: ignore[arg-type]
        finally:
            latencies.append(time.monotonic() - t)

    try:
        while time.monotonic() < deadline:
            try:
                started = await timed(
                    "POST", "/v1/connections", json={"entry": f"link{index}", "user": user}
                )
                handle, seq = started["handle"], started["seq"]  # type: ignore[index]
                stats["dials"] += 1  # type: ignore[operator]
                last = None
                async for note in ras.notifications(handle, seq):
                    last = note
                stats["views_ended"] += 1  # type: ignore[operator]
                if last is not None and last.error:
                    errors[f"dial:{last.error}"] += 1
                await timed("GET", "/v1/connections")
                await timed("GET", f"/v1/connections/{handle}")
                if index % 10 == 0:
                    await timed("GET", "/v1/entries")
                await timed("DELETE", f"/v1/connections/{handle}")
                while True:  # until the handle is gone
                    try:
                        await timed("GET", f"/v1/connections/{handle}")
                    except ApiError as exc:
                        if exc.code == 6:
                            break
                        raise
                    await asyncio.sleep(0.05)
                stats["hangups"] += 1  # type: ignore[operator]
            except ApiError as exc:
                errors[str(exc.code)] += 1
                await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def worker(first: int, count: int, home: str, user: str, seconds: float) -> dict[str, object]:
    stats: dict[str, object] = {
        "latencies": [],
        "errors": Counter(),
        "dials": 0,
        "views_ended": 0,
        "hangups": 0,
    }
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(client_loop(i, home, user, deadline, stats) for i in range(first, first + count))
    )
    return stats


def run_worker(first: int, count: int, home: str, user: str, seconds: float) -> None:
    stats = asyncio.run(worker(first, count, home, user, seconds))
    lat: list[float] = stats.pop("latencies")  # type: ignore[assignment]
    out = {**stats, "errors": dict(stats["errors"]), "latencies": lat}  # type: ignore[call-overload]
    print(json.dumps(out), flush=True)


# -- the hostile client ----------------------------------------------------------------------
HOSTILE = r"""
import json, socket, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + seconds
statuses, sent = {}, 0

def request(raw, read=True):
    global sent
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    try:
        s.connect(path)
        s.sendall(raw)
        sent += 1
        if not read:
            return s
        data = s.recv(200)
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
    except OSError as exc:
        status = type(exc).__name__
    statuses[status] = statuses.get(status, 0) + 1
    s.close()

def post(path_, body):
    return (f"POST {path_} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body

deep = b"[" * 100000 + b"]" * 100000
props = json.dumps({"name": "h", "properties": {f"K{i}": "v" for i in range(50000)}}).encode()
huge = b'{"text": "' + b"x" * (20 * 1024 * 1024) + b'"}'
unread = []
while time.monotonic() < deadline:
    request(post("/v1/entries", deep))
    request(post("/v1/entries", props))
    request(post("/v1/phonebook/import", huge))
    request(b"GARBAGE \x00\xff\r\n\r\n")
    request(b"GET /v1/connections/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    request(post("/v1/connections", b'{"entry": 1, "phonebook_text": [[[["x"]]]]}'))
    if len(unread) < 40:  # answers asked for and never read, connections left idle
        unread.append(request(b"GET /v1/entries HTTP/1.1\r\nHost: x\r\n\r\n", read=False))
print(json.dumps({"sent": sent, "statuses": statuses}), flush=True)
for s in unread:
    if s is not None:
        s.close()
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        first, count, home, user = args.worker
        run_worker(int(first), int(count), home, user, args.seconds)
        return 0

    sshd, daemon = Sshd().start(), Daemon().start()
    try:
        pid = ssh_key_entries(daemon, sshd, args.clients)
        time.sleep(0.5)
        before = (rss_kib(pid), fds(pid))
        env = {**daemon.env}
        per = -(-args.clients // args.workers)
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--seconds",
                    str(args.seconds),
                    "--worker",
                    str(first),
                    str(min(per, args.clients - first)),
                    str(daemon.home),
                    sshd.user,
                ],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for first in range(0, args.clients, per)
        ]
        hostile = subprocess.Popen(
            [sys.executable, "-c", HOSTILE, str(daemon.socket), str(args.seconds)],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        peak_rss = 0
        while any(w.poll() is None for w in workers):
            peak_rss = max(peak_rss, rss_kib(pid))
            time.sleep(0.5)
        results = [json.loads(w.stdout.read().strip().splitlines()[-1]) for w in workers]  # type: ignore[union-attr]
        hostile_out, _ = hostile.communicate(timeout=120)
        hostile_result = json.loads(hostile_out.strip().splitlines()[-1])

        latencies = [x for r in results for x in r["latencies"]]
        errors: Counter[str] = Counter()
        for r in results:
            errors.update(r["errors"])
        dials = sum(r["dials"] for r in results)
        ended = sum(r["views_ended"] for r in results)
        hangups = sum(r["hangups"] for r in results)
        with daemon.client() as c:
            left = c.call("GET", "/v1/connections")
            entries = len(c.call("GET", "/v1/entries"))
        time.sleep(2)
        after = (rss_kib(pid), fds(pid))
        sessions = len(sshd.session_pids())
        print(f"clients {args.clients} in {len(workers)} processes for {args.seconds:.0f} s")
        print(f"requests served {len(latencies)} ({len(latencies) / args.seconds:.0f}/s)")
        print(
            f"latency p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        print(f"dials {dials}, dial views ended {ended}, hang-ups completed {hangups}")
        print(f"client errors by code {dict(errors) or '{}'}")
        print(f"hostile requests {hostile_result['sent']}, answers {hostile_result['statuses']}")
        print(
            f"daemon RSS {before[0] / 1024:.0f} MiB before, {peak_rss / 1024:.0f} MiB peak, "
            f"{after[0] / 1024:.0f} MiB after; fds {before[1]} before, {after[1]} after"
        )
        print(f"left over: connections {len(left)}, sshd sessions {sessions}, entries {entries}")
        lost = dials != ended or left or entries != args.clients
        print("nothing lost" if not lost else "LOST: see above")
        return 1 if lost else 0
    finally:
        daemon.cleanup()
        sshd.cleanup()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    raise SystemExit(main())
