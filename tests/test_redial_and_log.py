"""Redial pacing and the daemon's log (issue 10, item 7): RedialSeconds=0 with a huge attempt
count does not spin, and the daemon's log file is rotated."""

from __future__ import annotations

import random
import time
from typing import Any

from ras_helpers import events_of, ssh_entry, wait_for


def test_pauses_have_a_floor_back_off_and_jitter() -> None:
    from openras.ras import redial

    rng = random.Random(7)
    zero = list(redial.pauses(0, 12, rng))
    assert all(p >= redial.FLOOR for p in zero)
    assert zero[-1] > zero[0] * 4  # backing off
    assert max(zero) <= redial.BACKOFF_CAP * (1 + redial.JITTER)
    two = [list(redial.pauses(5, 3, random.Random(seed))) for seed in (1, 2)]
    assert two[0] != two[1]  # jittered: links lost together do not redial in step
    # a long RedialSeconds is kept (within the jitter), not cut to the back-off cap
    assert all(p >= 600 * (1 - redial.JITTER) for p in redial.pauses(600, 3, rng))


def test_redial_storm_is_paced(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd, RedialOnLinkFailure="1", RedialSeconds="0", RedialAttempts="1000000")
    with daemon.client() as c:
        started = c.call(
            "POST",
            "/v1/connections",
            json={"entry": "lab", "user": sshd.user, "password": sshd.password},
        )
    handle = started["handle"]
    wait_for(lambda: any(e.get("notify") == "connection" for e in events_of(daemon, handle)))
    sshd.stop()  # the server is gone: every redial fails at once (connection refused)
    sshd.kill_sessions()
    wait_for(lambda: any(e["kind"] == "redial" for e in events_of(daemon, handle)), 30)
    time.sleep(3)
    redials = [e for e in events_of(daemon, handle) if e["kind"] == "redial"]
    # with a floor of a second and back-off, a few attempts; a spinning daemon makes thousands
    assert len(redials) <= 4, len(redials)
    with daemon.client() as c:
        c.call("DELETE", f"/v1/connections/{handle}")


def test_daemon_log_is_rotated(daemon_factory: Any, tmp_path: Any) -> None:
    d = daemon_factory("[daemon]\nlog_max_bytes = 20000\nlog_backups = 2\n")
    known = tmp_path / "known_hosts"
    known.write_text("")
    with d.client() as c:
        c.call(
            "POST",
            "/v1/entries",
            json={
                "name": "refused",
                "lines": [
                    ["DEVICE", "ssh"],
                    ["PhoneNumber", "127.0.0.1:1"],
                    ["SshKnownHosts", str(known)],
                ],
            },
        )
        # each failed dial logs a few lines; go on until the log has been rolled over twice
        for _ in range(400):
            h = c.call("POST", "/v1/connections", json={"entry": "refused", "user": "u"})
            wait_for(lambda h=h: c.call("GET", f"/v1/connections/{h['handle']}")["error"] != 0)
            c.call("DELETE", f"/v1/connections/{h['handle']}")
            if (d.home / "daemon.log.2").exists():
                break
        assert c.call("GET", "/v1/health")["pid"]
    assert (d.home / "daemon.log.1").exists() and (d.home / "daemon.log.2").exists()
    assert not (d.home / "daemon.log.3").exists()
    assert (d.home / "daemon.log").stat().st_size <= 20000 + 4096
    # the daemon's stderr follows the new file
    assert d.proc is not None
    assert (d.home / "daemon.log").resolve() == __import__("pathlib").Path(
        f"/proc/{d.proc.pid}/fd/2"
    ).resolve()
