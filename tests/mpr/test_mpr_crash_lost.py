"""A mapped drive lost when the daemon dies leaves an event (issue 10, item 11): the next daemon
publishes ``lost`` for every mapping the dead one held, to the mapping's owner."""

from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")


def test_mapping_lost_in_a_daemon_crash_leaves_an_event(daemon_factory: Any, smbd: Any) -> None:
    d = daemon_factory()
    r = d.cli("net", "use", "Q:", smbd.unc, smbd.password, f"/USER:{smbd.user}")
    assert r.returncode == 0, r.stderr + d.log()
    d.kill()
    d.start()
    with d.client() as c:
        events = c.call("GET", "/v1/events/log", params={"since": 0, "limit": 10000})
        lost = [e for e in events if e["kind"] == "net" and e["action"] == "lost"]
        assert [(e["local_name"], e["uid"]) for e in lost] == [("Q:", 0)], events
        assert lost[0]["remote_name"].casefold() == smbd.unc.casefold()
    d.stop()
    d.start()
    with d.client() as c:
        events = c.call("GET", "/v1/events/log", params={"since": 0, "limit": 10000})
        assert len([e for e in events if e["kind"] == "net" and e["action"] == "lost"]) == 1
