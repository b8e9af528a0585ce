"""RasGetConnectionStatistics of VPN links against real servers: IKEv2 (the CHILD_SA counters
charon keeps) and OpenVPN (the management interface's BYTECOUNT and the TUN's packets)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from .ikev2_lab import IKEV2_STATES, Lab
from .ikev2_lab import names as ike_names
from .openvpn_lab import OPENVPN_STATES, VpnLab, names, wait_for

PAYLOAD = 300_000


def test_ikev2_statistics_are_the_child_sa_counters(ikev2_lab: Callable[..., Lab]) -> None:
    lab = ikev2_lab()
    (lab.server.http_root / "blob.bin").write_bytes(os.urandom(PAYLOAD))
    lab.entry()
    handle, notes = lab.dial()
    assert ike_names(notes) == IKEV2_STATES, notes
    ras = lab.ras()
    before = ras.statistics(handle)
    url = f"http://198.51.100.1:{lab.server.http_port}/blob.bin"
    got = lab.client(
        ["curl", "-s", "--max-time", "30", "-o", "/dev/null", "-w", "%{size_download}", url]
    )
    assert got.stdout == str(PAYLOAD), got
    after = ras.statistics(handle)
    # ESP carried the payload in (with its IP and TCP headers), and the requests and ACKs out.
    assert after.dwBytesRcved - before.dwBytesRcved >= PAYLOAD
    assert after.dwFramesRcved - before.dwFramesRcved >= PAYLOAD // 1500
    assert after.dwBytesXmited > before.dwBytesXmited
    assert after.dwFramesXmited > before.dwFramesXmited
    assert after.dwConnectDuration >= before.dwConnectDuration
    lab.hangup(handle)


def test_openvpn_statistics_are_bytecount_and_tun_packets(vpn: VpnLab) -> None:
    vpn.entry()
    root = tempfile.mkdtemp(prefix="openras-ovpn-stats-")
    os.chmod(root, 0o755)
    with open(f"{root}/blob.bin", "wb") as f:
        f.write(os.urandom(PAYLOAD))
    port = vpn.server.http_server(root)
    handle, notes = vpn.dial()
    assert names(notes) == OPENVPN_STATES, notes
    ras = vpn.ras()
    before = ras.statistics(handle)
    body = vpn.server.run_client_ns(
        [
            "curl",
            "-s",
            "--max-time",
            "30",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            f"http://10.8.0.1:{port}/blob.bin",
        ],
        timeout=45,
    )
    assert body.stdout == str(PAYLOAD), body
    # BYTECOUNT comes every second: wait for the one that covers the download.
    after: Any = wait_for(
        lambda: (s := ras.statistics(handle)).dwBytesRcved - before.dwBytesRcved >= PAYLOAD and s,
        15,
    )
    assert after.dwBytesXmited > before.dwBytesXmited
    assert after.dwFramesRcved - before.dwFramesRcved >= PAYLOAD // 1500  # TUN rx_packets
    assert after.dwFramesXmited > before.dwFramesXmited
    vpn.hangup(handle)
