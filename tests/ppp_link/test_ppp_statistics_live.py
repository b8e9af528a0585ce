"""RasGetConnectionStatistics of a PPP link on a pty to a real slirp: a download through the
TUN interface shows in the received octets and frames; the line's BaudRate is dwBps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .lab import PPP_STATES, names


def test_pty_link_statistics_after_a_download(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory("pty")
    payload = 300_000
    port = lab.serve_file(tmp_path, "blob.bin", os.urandom(payload))
    lab.entry(BaudRate=57600)
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    ras = lab.ras()
    before = ras.statistics(handle)
    assert before.dwBps == 57600
    assert before.dwFramesXmited > 0 and before.dwFramesRcved > 0  # LCP and IPCP went by
    got = lab.run(
        [
            "curl",
            "-s",
            "--max-time",
            "60",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            f"http://10.0.2.2:{port}/blob.bin",
        ],
        timeout=90,
    )
    assert got.stdout == str(payload), (got, lab.daemon.log())
    after = ras.statistics(handle)
    assert after.dwBytesRcved - before.dwBytesRcved >= payload
    # At most 1500 octets of IP a frame: the payload took at least payload/1500 frames.
    assert after.dwFramesRcved - before.dwFramesRcved >= payload // 1500
    assert after.dwFramesXmited > before.dwFramesXmited  # the request and the TCP ACKs
    assert after.dwCrcErr == 0 and after.dwFramingErr == 0  # a pty does not damage frames
    lab.hangup(handle)
