"""MPR figures on /metrics (issue 12, item 3): mappings now, operations, notifyee failures —
with a real smbd, a real FUSE mount and prometheus_client's own parser."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")


def value(daemon: Any, metric: str, /, **labels: str) -> float | None:
    with daemon.client() as c:
        text = c._client().get("/metrics").text
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == metric and set(labels.items()) <= set(s.labels.items())
    ]
    return sum(found) if found else None


def test_mappings_operations_and_notifyee_failures(daemon_factory: Any, smbd: Any) -> None:
    d = daemon_factory(start=False)
    notifyee = d.home / "notify" / "audit.py"
    notifyee.parent.mkdir(mode=0o755)
    notifyee.write_text("def AddConnectNotify(info, add):\n    return 0\n")
    os.chmod(notifyee, 0o666)  # writable by anyone: skipped and reported, never loaded
    (d.home / "openras.toml").write_text(f'[notifyees]\naudit = "{notifyee}"\n')
    d.start()
    assert value(d, "openras_net_connections", provider="openras SMB") == 0
    r = d.cli("net", "use", "R:", smbd.unc, smbd.password, f"/USER:{smbd.user}")
    assert r.returncode == 0, r.stderr + d.log()
    assert value(d, "openras_net_connections", provider="openras SMB") == 1
    assert value(d, "openras_net_operations_total", action="connected") == 1
    # The insecure notifyee was skipped and reported: one count per report in the event log.
    with d.client() as c:
        reports = [
            e
            for e in c.call("GET", "/v1/events/log", params={"since": 0, "limit": 1000})
            if e["kind"] == "notifyee"
        ]
    assert reports and all("insecure" in e["error"] for e in reports)
    assert value(d, "openras_notifyee_failures_total", notifyee="audit", operation="add") == len(
        reports
    )
    r = d.cli("net", "use", "R:", "/DELETE")
    assert r.returncode == 0, r.stderr
    assert value(d, "openras_net_connections", provider="openras SMB") == 0
    assert value(d, "openras_net_operations_total", action="disconnected") == 1
    assert json.loads(d.cli("net", "use", "--json").stdout)["connections"] == []
