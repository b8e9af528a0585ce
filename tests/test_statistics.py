"""RasGetConnectionStatistics on a real SSH link: the bytes through the SOCKS listener, the
connect duration, and the same figures in the API, win32ras, the typed client and
``openras status --json``."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from ras_helpers import ssh_entry, status_or_none, wait_for

from openras.client.api import ApiError
from openras.ras.records import LinkStatistics

RAS_STATS_FIELDS = [
    "dwSize",
    "dwBytesXmited",
    "dwBytesRcved",
    "dwFramesXmited",
    "dwFramesRcved",
    "dwCrcErr",
    "dwTimeoutErr",
    "dwAlignmentErr",
    "dwHardwareOverrunErr",
    "dwFramingErr",
    "dwBufferOverrunErr",
    "dwCompressionRatioIn",
    "dwCompressionRatioOut",
    "dwBps",
    "dwConnectDuration",
]


def _curl(port: int, url: str, out: str) -> None:
    done = subprocess.run(
        ["curl", "-s", "-f", "--max-time", "60", "--socks5", f"127.0.0.1:{port}", "-o", out, url],
        capture_output=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr


def test_ssh_statistics_count_what_passes_through_the_socks_listener(
    win32ras: Any, daemon: Any, sshd: Any, http_server: Any, tmp_path: Any
) -> None:
    ssh_entry(daemon, sshd)
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
    assert rc == 0
    port = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]

    before = win32ras.GetConnectionStatistics(handle)
    assert list(before) == RAS_STATS_FIELDS and before["dwSize"] == 60
    assert before["dwBytesRcved"] == 0 and before["dwBytesXmited"] == 0

    url, _ = http_server.add_file("blob.bin", 2)
    payload = 2 << 20
    _curl(port, url, str(tmp_path / "blob.bin"))
    assert (tmp_path / "blob.bin").stat().st_size == payload

    after = win32ras.GetConnectionStatistics(handle)
    assert after["dwBytesRcved"] >= payload  # the file and its HTTP headers came back
    assert 0 < after["dwBytesXmited"] < payload  # the request and the SOCKS greeting went out
    assert after["dwFramesRcved"] > 0 and after["dwFramesXmited"] > 0
    assert after["dwConnectDuration"] >= before["dwConnectDuration"]

    # A second download: the counters only grow.
    _curl(port, url, str(tmp_path / "again.bin"))
    with daemon.client() as c:
        again = c.call("GET", f"/v1/connections/{handle}/statistics")
    assert again["dwBytesRcved"] >= after["dwBytesRcved"] + payload
    assert "dwSize" not in again and sorted(again) == sorted(RAS_STATS_FIELDS[1:])

    # The typed client and `openras status --json` give the same record.
    from openras.client.ras import Ras

    with daemon.client() as c:
        typed = Ras(c).statistics(handle)
    assert isinstance(typed, LinkStatistics)
    assert typed.dwBytesRcved >= again["dwBytesRcved"]
    status = daemon.cli("status", "--json")
    assert status.returncode == 0, status.stderr
    rows = [r for r in json.loads(status.stdout) if r["handle"] == handle]
    assert rows and rows[0]["statistics"]["dwBytesRcved"] >= again["dwBytesRcved"]

    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    with pytest.raises(win32ras.error) as info:
        win32ras.GetConnectionStatistics(handle)
    assert info.value.winerror == 6
    with daemon.client() as c, pytest.raises(ApiError) as api:
        c.call("GET", f"/v1/connections/{handle}/statistics")
    assert api.value.code == 6


def test_statistics_route_is_in_the_openapi_document(daemon: Any) -> None:
    with daemon.client() as c:
        doc = c.call("GET", "/v1/openapi.json")
    op = doc["paths"]["/v1/connections/{handle}/statistics"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == set(RAS_STATS_FIELDS[1:])
