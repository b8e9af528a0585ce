"""The daemon's single-instance lock (issue 10, item 8): another user cannot hold it, a daemon that
cannot start says why and exits non-zero, and deleting the lock file does not give two daemons."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from harness import PYTHON, Daemon
from peers import require as need

NOBODY = 65534

HOLD = """
import fcntl, sys, time
try:
    f = open(sys.argv[1])  # a read-only descriptor is enough for flock
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError as exc:
    print("refused", exc.errno, flush=True)
    sys.exit(0)
print("holding", flush=True)
time.sleep(60)
"""


def _lock_candidates(d: Daemon) -> list[str]:
    # today's place and the private one: the test holds whichever the other user can reach
    return [str(d.home / "daemon.lock"), str(d.home / "private" / "daemon.lock")]


def test_another_user_cannot_hold_the_lock(daemon_factory: Any) -> None:
    need(os.geteuid() == 0, "needs root to act as another uid")
    d = daemon_factory()
    d.stop()  # the lock file now exists, left by a daemon that ran before
    holders = []
    for path in _lock_candidates(d):
        p = subprocess.Popen(
            [PYTHON, "-c", HOLD, path],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert p.stdout is not None
        line = p.stdout.readline()
        holders.append((p, line))
    try:
        d.start()  # raises when the daemon did not come up
        assert d.client().call("GET", "/v1/health")["pid"] == d.proc.pid  # type: ignore[union-attr]
    finally:
        for p, _ in holders:
            p.kill()
            p.wait()


def test_a_daemon_that_cannot_start_says_why_and_exits_nonzero(daemon_factory: Any) -> None:
    need(os.geteuid() == 0, "needs root to chown")
    d = daemon_factory(start=False)
    (d.home / "private").mkdir()
    os.chown(d.home / "private", NOBODY, NOBODY)
    r = subprocess.run(
        [PYTHON, "-m", "openras", "daemon"], env=d.env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode != 0
    assert "private" in r.stderr and "not starting" in r.stderr, r.stderr


def test_deleting_the_lock_file_does_not_make_two_daemons(daemon_factory: Any) -> None:
    d = daemon_factory()
    first = d.client().call("GET", "/v1/health")["pid"]
    for path in _lock_candidates(d):
        if os.path.exists(path):
            os.unlink(path)
    r = subprocess.run(
        [PYTHON, "-m", "openras", "daemon"], env=d.env, capture_output=True, text=True, timeout=60
    )
    assert "already serves" in r.stderr, r.stderr
    time.sleep(0.2)
    assert d.client().call("GET", "/v1/health")["pid"] == first
    assert d.proc is not None and d.proc.poll() is None
