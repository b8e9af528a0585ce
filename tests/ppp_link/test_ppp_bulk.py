"""A bulk download over PPP on TCP to a real slirp, through the daemon's TUN interface: the data
path against another PPP implementation. Our TCP ACKs leave in batches (``encode_batch``) that
slirp must read; slirp writes 8-16 KB at a time, so its frames come through the per-frame
decoder (whole-read decoding starts at 32 KiB reads: ``tests/ppp/test_ppp_batch.py`` and
``bench/ppp_link.py``, openras on both ends, cover it)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .lab import PPP_STATES, names


def test_bulk_download_arrives_intact_and_is_counted(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory("tcp")
    payload = os.urandom(8 << 20)  # random: ~12 octets a frame to escape, fast reads
    port = lab.serve_file(tmp_path, "blob.bin", payload)
    lab.entry()
    handle, notes = lab.dial()
    assert names(notes) == PPP_STATES, (notes, lab.daemon.log())
    ras = lab.ras()
    before = ras.statistics(handle)
    out = tmp_path / "got.bin"
    got = lab.run(
        ["curl", "-s", "--max-time", "120", "-o", str(out), f"http://10.0.2.2:{port}/blob.bin"],
        timeout=150,
    )
    assert got.returncode == 0, (got, lab.daemon.log())
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(payload).digest()
    after = ras.statistics(handle)
    assert after.dwBytesRcved - before.dwBytesRcved >= len(payload)
    assert after.dwFramesRcved - before.dwFramesRcved >= len(payload) // 1500
    assert after.dwFramesXmited > before.dwFramesXmited  # the request and the TCP ACKs
    assert after.dwCrcErr == 0 and after.dwFramingErr == 0 and after.dwAlignmentErr == 0
    lab.hangup(handle)
