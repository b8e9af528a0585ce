"""SSH device benchmarks, each side by side with OpenSSH's own `ssh -N -D` against the same sshd.

The anchor negotiates what asyncssh negotiates with this sshd (its debug log, asyncssh 2.24 vs
OpenSSH 9.2): key exchange curve25519-sha256 (ssh's own default would be the costlier
sntrup761x25519-sha512), chacha20-poly1305 both ways (its own MAC), no compression, an ed25519
host key, and public-key authentication with the same ed25519 key as the only method tried.

1. dial → SOCKS ready: win32ras.Dial (daemon running) and `rasdial` (a new process) vs `ssh -N -D`.
2. bulk download of a large file through the SOCKS listener vs through `ssh -D`.

Run as root:  .venv/bin/python bench/ssh_link.py [--rounds 10] [--mib 256]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from _setup import Daemon, HttpServer, Sshd, median, use_daemon, wait_socks


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What asyncssh negotiates with the test sshd (see the module docstring).
SAME_ALGORITHMS = [
    "-o",
    "KexAlgorithms=curve25519-sha256",
    "-o",
    "Ciphers=chacha20-poly1305@openssh.com",
    "-o",
    "HostKeyAlgorithms=ssh-ed25519",
    "-o",
    "Compression=no",
    "-o",
    "PreferredAuthentications=publickey",
    "-o",
    "PubkeyAcceptedAlgorithms=ssh-ed25519",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
]


def ssh_cmd(sshd: Sshd, port: int) -> list[str]:
    return [
        "ssh",
        "-N",
        "-D",
        f"127.0.0.1:{port}",
        "-p",
        str(sshd.port),
        "-i",
        str(sshd.client_key),
        "-o",
        f"UserKnownHostsFile={sshd.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ControlMaster=no",
        "-F",
        "/dev/null",
        *SAME_ALGORITHMS,
        f"{sshd.user}@127.0.0.1",
    ]


def bench_dial(sshd: Sshd, web: HttpServer, daemon: Daemon, rounds: int) -> dict[str, float]:
    from openras import win32ras

    api, cli, ssh = [], [], []
    for _ in range(rounds):
        t0 = time.monotonic()
        handle, rc = win32ras.Dial(None, None, ("bench", "", "", sshd.user, "", ""), None)
        assert rc == 0, rc
        port = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]
        wait_socks(port, web.port, t0 + 30)
        api.append(time.monotonic() - t0)
        win32ras.HangUp(handle)
        while win32ras.IsHandleValid(handle):
            time.sleep(0.005)

        t0 = time.monotonic()
        r = daemon.rasdial("bench", sshd.user)
        assert r.returncode == 0, r.stderr
        handle = win32ras.EnumConnections()[0][0]
        port = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]
        wait_socks(port, web.port, t0 + 30)
        cli.append(time.monotonic() - t0)
        win32ras.HangUp(handle)
        while win32ras.IsHandleValid(handle):
            time.sleep(0.005)

        port = free_port()
        t0 = time.monotonic()
        proc = subprocess.Popen(
            ssh_cmd(sshd, port), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_socks(port, web.port, t0 + 30)
            ssh.append(time.monotonic() - t0)
        finally:
            proc.terminate()
            proc.wait()
    return {"api": median(api), "cli": median(cli), "ssh": median(ssh)}


def bench_bulk(sshd: Sshd, web: HttpServer, mib: int) -> dict[str, float]:
    from openras import win32ras

    url, _digest = web.add_file("bulk.bin", mib)
    handle, rc = win32ras.Dial(None, None, ("bench", "", "", sshd.user, "", ""), None)
    assert rc == 0
    ours = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]
    port = free_port()
    proc = subprocess.Popen(
        ssh_cmd(sshd, port), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_socks(port, web.port, time.monotonic() + 30)
        results = {}
        for label, socks in (("openras", ours), ("ssh -D", port), ("direct", None)):
            times = []
            for _ in range(3):
                t0 = time.monotonic()
                if socks is None:
                    data = subprocess.run(
                        ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url],
                        capture_output=True,
                        text=True,
                    )
                else:
                    data = subprocess.run(
                        [
                            "curl",
                            "-s",
                            "-o",
                            "/dev/null",
                            "-w",
                            "%{size_download}",
                            "--socks5",
                            f"127.0.0.1:{socks}",
                            url,
                        ],
                        capture_output=True,
                        text=True,
                    )
                elapsed = time.monotonic() - t0
                assert int(data.stdout) == mib * 1024 * 1024, data.stdout
                times.append(elapsed)
            results[label] = mib / median(times)
        return results
    finally:
        proc.terminate()
        proc.wait()
        win32ras.HangUp(handle)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    sshd, web, daemon = Sshd().start(), HttpServer().start(), Daemon().start()
    try:
        use_daemon(daemon)
        with daemon.client() as c:
            c.call(
                "POST",
                "/v1/entries",
                json={
                    "name": "bench",
                    "lines": [
                        ["DEVICE", "ssh"],
                        ["PhoneNumber", f"127.0.0.1:{sshd.port}"],
                        ["SshKnownHosts", str(sshd.known_hosts)],
                        ["SshKey", str(sshd.client_key)],
                    ],
                },
            )
        d = bench_dial(sshd, web, daemon, args.rounds)
        print(f"SSH dial → SOCKS ready (median of {args.rounds}, key auth, same sshd):")
        print(
            f"  openras win32ras.Dial (daemon running) {d['api'] * 1000:8.1f} ms"
            f"   ratio to ssh -N -D {d['api'] / d['ssh']:.2f}"
        )
        print(
            f"  openras rasdial (new process)          {d['cli'] * 1000:8.1f} ms"
            f"   ratio to ssh -N -D {d['cli'] / d['ssh']:.2f}"
        )
        print(f"  ssh -N -D (new process)                {d['ssh'] * 1000:8.1f} ms")
        b = bench_bulk(sshd, web, args.mib)
        print(f"Bulk download of {args.mib} MiB with curl (median of 3):")
        print(
            f"  through openras SOCKS  {b['openras']:8.1f} MiB/s"
            f"   ratio to ssh -D {b['openras'] / b['ssh -D']:.2f}"
        )
        print(f"  through ssh -D SOCKS   {b['ssh -D']:8.1f} MiB/s")
        print(f"  direct (no tunnel)     {b['direct']:8.1f} MiB/s")
        return 0
    finally:
        daemon.cleanup()
        web.cleanup()
        sshd.cleanup()


if __name__ == "__main__":
    sys.exit(main())
