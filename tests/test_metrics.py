"""Prometheus metrics (issue 12, item 3, "Must show"): /metrics after a real SSH dial, a failure
(wrong password, 691) and a hang-up, parsed by prometheus_client's own parser; the same page on
the opt-in loopback port and in the node_exporter textfile; the shipped alerting rules checked
and unit-tested by the real promtool."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from peers import require
from prometheus_client.parser import text_string_to_metric_families
from ras_helpers import DialLab, events_of, ssh_entry, wait_for

from openras.codes import RASCS


class Lab(DialLab):
    def __init__(self, daemon: Any, sshd: Any) -> None:
        self.daemon = daemon
        self.sshd = sshd

    @property
    def credentials(self) -> tuple[str, str]:
        return self.sshd.user, self.sshd.password


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by name and label set."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, metric: str, /, **labels: str) -> float | None:
    """The sum of ``metric``'s samples whose labels include ``labels`` (None: no such sample)."""
    found = [
        v for (n, ls), v in samples(text).items() if n == metric and set(labels.items()) <= set(ls)
    ]
    return sum(found) if found else None


def scrape(daemon: Any) -> str:
    with daemon.client() as c:
        response = c._client().get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        return response.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_metrics_after_a_dial_a_failure_and_a_hang_up(
    daemon_factory: Any, sshd: Any, tmp_path: Path
) -> None:
    port = free_port()
    textfile = tmp_path / "openras.prom"
    daemon = daemon_factory(
        "[daemon]\nfailed_handle_grace = 60\n"
        f'[metrics]\nlisten = "127.0.0.1:{port}"\ntextfile = "{textfile}"\n'
        "textfile_interval = 0.2\n",
        start=False,
    )
    hook = daemon.home / "hooks" / "up.d" / "10-ok"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    daemon.start()
    lab = Lab(daemon, sshd)
    ssh_entry(daemon, sshd, "office")
    before = scrape(daemon)
    assert value(before, "openras_dials_total") == 0
    assert value(before, "openras_dial_failures_total") is None

    good, notes = lab.dial("office")
    assert notes[-1].state == RASCS.Connected
    connected = scrape(daemon)
    assert value(connected, "openras_connection_up", handle=str(good), entry="office") == 1
    assert value(connected, "openras_connections", phase="connected") == 1
    assert value(connected, "openras_connection_state", handle=str(good)) == RASCS.Connected.value
    # The link's statistics (RAS_STATS, as RasGetConnectionStatistics gives them) per handle.
    for field in ("dwBytesXmited", "dwBytesRcved", "dwConnectDuration"):
        series = value(connected, f"openras_connection_{field}", handle=str(good))
        assert series is not None and series >= 0, field

    # A second entry of the same server, dialed with a wrong password: 691.
    ssh_entry(daemon, sshd, "guest")
    bad, notes = lab.dial("guest", password="wrong")
    assert notes[-1].error == 691
    lab.hangup(good)
    lab.hangup(bad)
    wait_for(lambda: any(e["kind"] == "hook" for e in events_of(daemon, good)))

    text = scrape(daemon)
    assert value(text, "openras_dials_total") == 2
    assert value(text, "openras_connected_total") == 1
    assert value(text, "openras_failed_total") == 1
    assert value(text, "openras_released_total") == 2
    assert (
        value(
            text,
            "openras_dial_failures_total",
            entry="guest",
            device_type="ssh",
            code="691",
            name="ERROR_AUTHENTICATION_FAILURE",
        )
        == 1
    )
    assert value(text, "openras_dial_failures_total") == 1  # no other failure counted
    assert value(text, "openras_link_failures_total") is None
    assert value(text, "openras_redials_total") is None
    for outcome in ("connected", "failed"):
        assert value(text, "openras_dial_duration_seconds_count", outcome=outcome) == 1
        assert value(text, "openras_dial_duration_seconds_sum", outcome=outcome) > 0
    assert value(text, "openras_hook_runs_total", stage="up", outcome="ok") == 1
    assert value(text, "openras_hook_duration_seconds_count", stage="up") == 1
    # Both handles are gone: no per-connection series are left.
    assert value(text, "openras_connection_up") is None
    assert value(text, "openras_connections") == 0
    assert value(text, "openras_event_cutoffs_total") == 0

    # An event-stream subscriber is counted while it listens (beside this process's own shared
    # stream, which its dials opened).
    before = value(scrape(daemon), "openras_event_subscribers") or 0
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://openras", timeout=30) as h:
        with h.stream("GET", "/v1/events", params={"since": 0}) as stream:
            assert stream.status_code == 200
            wait_for(lambda: value(scrape(daemon), "openras_event_subscribers") == before + 1)

    # The same counts on the loopback port and in the textfile.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        tcp = r.read().decode()
    assert value(tcp, "openras_dial_failures_total", code="691") == 1
    assert value(tcp, "openras_dials_total") == 2
    wait_for(
        lambda: textfile.exists() and value(textfile.read_text(), "openras_released_total") == 2
    )
    assert oct(textfile.stat().st_mode & 0o777) == "0o644"
    assert value(textfile.read_text(), "openras_dial_failures_total", code="691") == 1
    assert not list(tmp_path.glob(".openras.prom.*"))  # no temporary file left behind


def test_a_metrics_port_off_loopback_is_refused(daemon_factory: Any) -> None:
    daemon = daemon_factory('[metrics]\nlisten = "0.0.0.0:9477"\n', start=False)
    try:
        daemon.start()
    except RuntimeError:
        pass
    else:
        raise AssertionError("the daemon started with metrics on 0.0.0.0")
    assert "not a loopback address" in daemon.log()


def test_the_shipped_alerting_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (package prometheus) is not installed")
    rules = tmp_path / "openras-alerts.yml"
    rules.write_text(
        (resources.files("openras") / "data" / "prometheus" / "openras-alerts.yml").read_text()
    )
    check = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 3 rules found" in check.stdout
    # The rules fire when they should, and only then.
    shutil.copy(Path(__file__).with_name("openras-alerts.test.yml"), tmp_path / "tests.yml")
    test = subprocess.run(
        [promtool, "test", "rules", "tests.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert test.returncode == 0, test.stdout + test.stderr
