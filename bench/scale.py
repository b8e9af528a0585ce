"""1,000 live SSH links: GetConnectStatus / EnumConnections latency (the RASCONN view, and the
full records for comparison) and the daemon's memory per link.

Run as root:  .venv/bin/python bench/scale.py [--links 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _setup import Daemon, Sshd, percentile, rss_kib, ssh_key_entries, use_daemon


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    sshd, daemon = Sshd().start(), Daemon().start()
    try:
        use_daemon(daemon)
        from openras import win32ras

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
