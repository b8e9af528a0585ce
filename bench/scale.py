"""1,000 live SSH links: GetConnectStatus / EnumConnections latency (the RASCONN view, and the
full records for comparison), where EnumConnections' time goes (the daemon's answer read on a
raw socket, the client's JSON parse, the tuples), and the daemon's memory per link.

Run as root:  .venv/bin/python bench/scale.py [--links 1000]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any

import orjson
from _setup import Daemon, Sshd, percentile, rss_kib, ssh_key_entries, use_daemon


def raw_get(sock: socket.socket, path: str) -> bytes:
    """One keep-alive HTTP/1.1 GET by hand: the daemon's answer without any client library."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: openras\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(1 << 20)
    head, _, body = buf.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(1 << 20)
    return body


def timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def p50(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    sshd, daemon = Sshd().start(), Daemon().start()
    try:
        use_daemon(daemon)
        from openras import win32ras
        from openras.ras.records import decode_record

        pid = ssh_key_entries(daemon, sshd, args.links)
        time.sleep(0.5)
        base = rss_kib(pid)

        def dial(i: int) -> int:
            handle, rc = win32ras.Dial(None, None, (f"link{i}", "", "", sshd.user, "", ""), None)
            assert rc == 0, (i, rc)
            return handle

        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            handles = list(pool.map(dial, range(args.links)))
        dial_time = time.monotonic() - t0
        assert len(win32ras.EnumConnections()) == args.links
        time.sleep(0.5)
        loaded = rss_kib(pid)

        status = []
        for i in range(args.calls):
            t = time.perf_counter()
            win32ras.GetConnectStatus(handles[i % len(handles)])
            status.append(time.perf_counter() - t)
        enum = []
        for _ in range(max(args.calls // 10, 20)):
            t = time.perf_counter()
            win32ras.EnumConnections()
            enum.append(time.perf_counter() - t)
        full = []
        ras = win32ras._ras()
        for _ in range(max(args.calls // 20, 10)):
            t = time.perf_counter()
            ras.connections()
            full.append(time.perf_counter() - t)
        print(f"{args.links} live SSH links (dialed in {dial_time:.1f} s, 8 at a time):")
        print(
            f"  GetConnectStatus  p50 {percentile(status, 50) * 1000:6.2f} ms"
            f"   p99 {percentile(status, 99) * 1000:6.2f} ms"
        )
        print(
            f"  EnumConnections   p50 {percentile(enum, 50) * 1000:6.2f} ms"
            f"   p99 {percentile(enum, 99) * 1000:6.2f} ms"
        )
        print(
            f"  full records      p50 {percentile(full, 50) * 1000:6.2f} ms"
            f"   p99 {percentile(full, 99) * 1000:6.2f} ms   (Ras.connections(), ?full=1)"
        )
        print("  EnumConnections, by part:")
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(ras.client.paths.socket))
        parts = {}
        for label, path in (
            ("objects", "/v1/connections"),
            ("columns", "/v1/connections?form=columns"),
            ("full", "/v1/connections?full=1"),
        ):
            parts[label] = raw_get(sock, path)
            raw = timed(lambda path=path: raw_get(sock, path), 100)
            print(
                f"    {'daemon answer, raw socket, ' + label:<36}{p50(raw)}"
                f"   ({len(parts[label]) / 1024:.0f} KiB)"
            )
        sock.close()
        body = parts["columns"]
        parse = timed(lambda: orjson.loads(body), 100)  # as the clients parse answers
        table = orjson.loads(body)
        pick = itemgetter(*(table["columns"].index(n) for n in win32ras._ENUM_FIELDS))
        tuples = timed(lambda: list(map(pick, table["rows"])), 100)
        print(f"    {'client JSON parse, columns':<36}{p50(parse)}")
        print(f"    {'pywin32 tuples':<36}{p50(tuples)}")
        print("  full records, by part:")
        full_body = parts["full"]
        rows = orjson.loads(full_body)
        print(f"    {'client JSON parse':<36}{p50(timed(lambda: orjson.loads(full_body), 20))}")
        decoding = timed(lambda: [decode_record(r) for r in rows], 20)
        print(f"    {'ConnectionRecord objects':<36}{p50(decoding)}")
        loads = (" ".join(f"{x:.2f}" for x in la) for la in (load_before, os.getloadavg()))
        print("  load average (1 5 15 min) before {} / after {}".format(*loads))
        print(
            f"  daemon RSS {base / 1024:.1f} MiB idle → {loaded / 1024:.1f} MiB: "
            f"{(loaded - base) / args.links:.0f} KiB per link"
        )
        for h in handles:
            win32ras.HangUp(h)
        return 0
    finally:
        daemon.cleanup()
        sshd.cleanup()


if __name__ == "__main__":
    sys.exit(main())
