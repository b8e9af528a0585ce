"""IKEv2 benchmarks against a real strongSwan server, openras vs strongSwan's own client, same run.

Both clients dial the same server (one charon in its own network namespace) with the same
proposals (charon's defaults) and the same authentication (server certificate from the test CA,
EAP-MSCHAPv2 user), each from its own client namespace with its own charon (private /run, own VICI
socket; never two charons in one namespace):

1. Dial → Connected: through the openras daemon (API dial → Connected notification: charon's
   IKE_SA_INIT + 5 IKE_AUTH exchanges + openras's VICI loading, name check, routes, resolver file)
   vs ``swanctl --initiate`` of the same connection on a bare charon (returns when the CHILD_SA is
   up). Several rounds, a fresh IKE_SA each; p50s and the ratio (goal ≤ 1.2×).
2. Bulk TCP download (curl, HTTP server on the server's LAN) through each tunnel; ESP runs in user
   space (kernel-libipsec) in every charon here. Ratio openras / bare (goal ≥ 0.95×).

Run as root:  .venv/bin/python bench/ikev2_link.py [--rounds 20] [--mib 32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import Daemon, create_entry, median, percentile
from peers.strongswan import StrongswanServer

from openras.ras.link.charon import Charon, CharonSettings

CONFIG = """
[daemon]
failed_handle_grace = 60
[devices.ikev2]
dpd_seconds = 0
"""

BARE_CHARON = r"""
import sys
from pathlib import Path
from openras.ras.link.charon import Charon, CharonSettings
c = Charon(Path(sys.argv[1]), CharonSettings())
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def bare_swanctl(directory: Path, server: StrongswanServer) -> Path:
    """swanctl.conf of the bare client: the same connection openras loads over VICI."""
    sw = directory / "swanctl"
    for sub in ("x509ca", "conf.d"):
        (sw / sub).mkdir(parents=True, exist_ok=True)
    (sw / "x509ca" / "ca.crt").write_bytes(server.ca_cert.read_bytes())
    (sw / "swanctl.conf").write_text(f"""
connections {{
    bare {{
        version = 2
        remote_addrs = 198.18.0.1
        vips = 0.0.0.0
        keyingtries = 1
        send_certreq = yes
        local {{
            auth = eap-mschapv2
            eap_id = {server.user}
        }}
        remote {{
            auth = pubkey
            id = %any
            cacerts = ca.crt
        }}
        children {{
            bare {{
                remote_ts = 0.0.0.0/0
                start_action = none
            }}
        }}
    }}
}}
secrets {{
    eap-bare {{
        id = {server.user}
        secret = "{server.password}"
    }}
}}
""")
    os.chmod(sw / "swanctl.conf", 0o600)
    return sw


def swanctl(
    ns: str, vici: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, "swanctl", *args, "--uri", f"unix://{vici}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def bench_openras(daemon: Daemon, server: StrongswanServer, rounds: int) -> list[float]:
    from openras.client.ras import Ras

    ras = Ras(daemon.client())
    create_entry(
        daemon,
        "bench",
        [
            ["DEVICE", "vpn"],
            ["Type", "2"],
            ["VpnStrategy", "7"],
            ["PhoneNumber", "192.0.2.1"],
            ["IkeCaCertificate", str(server.ca_cert)],
        ],
    )
    times = []
    for i in range(rounds + 1):  # round 0 starts the daemon's charon
        t0 = time.monotonic()
        started = ras.dial("bench", user=server.user, password=server.password)
        final = list(ras.notifications(started.handle, started.seq))[-1]
        elapsed = time.monotonic() - t0
        assert final.state.name == "Connected" and final.error == 0, final
        if i:
            times.append(elapsed)
        ras.hangup(started.handle)
        assert ras.wait_gone(started.handle)
    return times


def bench_bare(ns: str, vici: Path, rounds: int) -> list[float]:
    times = []
    for i in range(rounds + 1):
        t0 = time.monotonic()
        r = swanctl(ns, vici, "--initiate", "--child", "bare", "--ike", "bare")
        elapsed = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        if i:
            times.append(elapsed)
        swanctl(ns, vici, "--terminate", "--ike", "bare")
    return times


def curl_seconds(ns: str, url: str) -> float:
    t0 = time.monotonic()
    r = subprocess.run(
        ["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "--max-time", "600", url],
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--bulk-rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces, TUN)")

    server = StrongswanServer().start()
    daemon: Daemon | None = None
    bare: subprocess.Popen[str] | None = None
    try:
        port = server.http_server(big_mib=args.mib)
        url = f"http://198.51.100.1:{port}/big.bin"
        bare_ns = server.add_client_ns()
        bare_dir = server.dir / "bare"
        sw = bare_swanctl(bare_dir, server)
        bare = subprocess.Popen(
            ["ip", "netns", "exec", bare_ns, sys.executable, "-c", BARE_CHARON, str(bare_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        )
        assert bare.stdout is not None and bare.stdout.readline().strip() == "ready"
        vici = Charon(bare_dir, CharonSettings()).vici_path
        loaded = swanctl(
            bare_ns, vici, "--load-all", "--noprompt", env={**os.environ, "SWANCTL_DIR": str(sw)}
        )
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        daemon = Daemon(CONFIG, netns=server.client_ns).start()

        dial_bare = bench_bare(bare_ns, vici, args.rounds)
        dial_openras = bench_openras(daemon, server, args.rounds)

        # Bulk: one tunnel each, up at the same time, downloads one after the other.
        from openras.client.ras import Ras

        ras = Ras(daemon.client())
        started = ras.dial("bench", user=server.user, password=server.password)
        assert list(ras.notifications(started.handle, started.seq))[-1].error == 0
        assert (
            swanctl(bare_ns, vici, "--initiate", "--child", "bare", "--ike", "bare").returncode == 0
        )
        bulk_openras, bulk_bare = [], []
        for _ in range(args.bulk_rounds):
            bulk_bare.append(curl_seconds(bare_ns, url))
            bulk_openras.append(curl_seconds(server.client_ns, url))
        ras.hangup(started.handle)
        ras.wait_gone(started.handle)
    finally:
        if daemon is not None:
            daemon.cleanup()
        if bare is not None and bare.stdin is not None:
            bare.stdin.close()
            bare.wait(20)
        server.cleanup()

    p50_o, p50_b = median(dial_openras), median(dial_bare)
    mb = args.mib * (1 << 20) / 1e6
    tput_o, tput_b = mb / median(bulk_openras), mb / median(bulk_bare)
    print(
        f"IKEv2 dial → Connected, {args.rounds} rounds (cert + EAP-MSCHAPv2, virtual IP, libipsec)"
    )
    print(
        f"  swanctl --initiate (bare charon)   p50 {p50_b * 1e3:8.2f} ms"
        f"   p90 {percentile(dial_bare, 90) * 1e3:8.2f} ms"
    )
    print(
        f"  openras dial → Connected           p50 {p50_o * 1e3:8.2f} ms"
        f"   p90 {percentile(dial_openras, 90) * 1e3:8.2f} ms"
        f"   {p50_o / p50_b:5.2f}x  (goal ≤ 1.2x)"
    )
    print(f"Bulk TCP download of {args.mib} MiB through the tunnel, median of {args.bulk_rounds}")
    print(f"  bare charon tunnel                 {tput_b:8.1f} MB/s")
    print(
        f"  openras tunnel                     {tput_o:8.1f} MB/s"
        f"   {tput_o / tput_b:5.3f}x  (goal ≥ 0.95x)"
    )


if __name__ == "__main__":
    main()
