"""End to end through the real daemon (``python -m openras daemon``): ``openras net use`` as root
and as other uids, a notifyee, and remembered drives across a daemon restart."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

NOTIFYEE = """
import json
def _log(kind, info, obj):
    with open({log!r}, "a") as f:
        f.write(json.dumps([kind, info.dwNotifyStatus, info.caller_uid]) + "\\n")
    info.lpContext = "c"
    return 0
def AddConnectNotify(info, add):
    return _log("add", info, add)
def CancelConnectNotify(info, cancel):
    return _log("cancel", info, cancel)
"""


@pytest.fixture(autouse=True)
def _fuse() -> None:
    from peers import require

    require(os.path.exists("/dev/fuse"), "FUSE is not available")


def notifyee_config(tmp: Path) -> tuple[str, Path]:
    d = Path(tmp)
    d.mkdir(mode=0o755, exist_ok=True)
    log = d / "calls.log"
    path = d / "audit.py"
    path.write_text(NOTIFYEE.format(log=str(log)))
    path.chmod(0o644)
    log.touch()
    log.chmod(0o666)
    return f'[notifyees]\naudit = "{path}"\n', log


def calls(log: Path) -> list[list[Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()]


def test_net_use_through_the_daemon_and_restart(daemon_factory: Any, smbd: Any) -> None:
    (smbd.share_dir / "hello.txt").write_text("through the daemon")
    d = daemon_factory(start=False)
    cfg, log = notifyee_config(d.home / "notify")
    (d.home / "openras.toml").write_text(cfg)
    d.start()
    r = d.cli("net", "use", "R:", smbd.unc, smbd.password, f"/USER:{smbd.user}", "/PERSISTENT:YES")
    assert r.returncode == 0, r.stderr + d.log()
    assert (d.home / "drives" / "0" / "R" / "hello.txt").read_text() == "through the daemon"
    r = d.cli("net", "use", "--json")
    rows = json.loads(r.stdout)["connections"]
    assert [(x["status"], x["local_name"], x["remote_name"]) for x in rows] == [
        ("OK", "R:", smbd.unc)
    ]
    assert [c[:2] for c in calls(log)] == [["add", 1], ["add", 2]]

    d.stop()  # shutdown closes the connection without notifyees; R: stays remembered
    assert len(calls(log)) == 2
    d.start()
    deadline = time.monotonic() + 20
    while True:  # the restore runs in the background once the daemon listens
        rows = json.loads(d.cli("net", "use", "--json").stdout)["connections"]
        if (rows and rows[0]["status"] == "OK") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(x["status"], x["local_name"]) for x in rows] == [("OK", "R:")], d.log()
    assert (d.home / "drives" / "0" / "R" / "hello.txt").read_text() == "through the daemon"
    assert len(calls(log)) == 2  # restored without notifyees

    r = d.cli("net", "use", "R:", "/DELETE")
    assert r.returncode == 0 and r.stdout.startswith("R: was deleted successfully.")
    d.stop()
    d.start()
    assert json.loads(d.cli("net", "use", "--json").stdout)["connections"] == []


def test_other_users_map_their_own_drives(
    daemon_factory: Any, smbd: Any, client_uids: tuple[int, int]
) -> None:
    alice, bob = client_uids
    (smbd.share_dir / "shared.txt").write_text("for alice")
    d = daemon_factory()
    r = d.cli("net", "use", "S:", smbd.unc, smbd.password, f"/USER:{smbd.user}", uid=alice)
    assert r.returncode == 0, r.stderr + d.log()
    drive = d.home / "drives" / str(alice) / "S"
    # Alice reads through her drive; the directory holding it stays the daemon's.
    r = d.run(["cat", str(drive / "shared.txt")], uid=alice)
    assert r.returncode == 0 and r.stdout == "for alice", r.stderr
    assert os.stat(drive.parent).st_uid == 0
    # Bob sees nothing of hers, cannot cancel it, and his S: is a different drive.
    r = d.cli("net", "use", "--json", uid=bob)
    assert json.loads(r.stdout)["connections"] == []
    r = d.cli("net", "use", smbd.unc, "/DELETE", "--json", uid=bob)
    assert r.returncode == 2 and json.loads(r.stdout)["error"] == 2250
    r = d.cli("net", "use", "S:", smbd.unc, smbd.password, f"/USER:{smbd.user}", uid=bob)
    assert r.returncode == 0, r.stderr
    r = d.run(["cat", str(drive / "shared.txt")], uid=bob)
    assert r.returncode != 0  # alice's mount is hers
    # Root sees both with ?all.
    with d.client() as c:
        rows = c.call("GET", "/v1/net/connections", params={"all": "1"})["connections"]
    assert sorted(x["uid"] for x in rows) == [alice, bob]
    for uid in (alice, bob):
        assert d.cli("net", "use", "S:", "/DELETE", "/Y", uid=uid).returncode == 0


def test_a_users_mappings_stay_out_of_other_users_event_streams(
    daemon_factory: Any, smbd: Any, client_uids: tuple[int, int]
) -> None:
    d = daemon_factory('[daemon]\nallow_users = "*"\n')
    owner, other = client_uids
    r = d.cli("net", "use", smbd.unc, smbd.password, f"/USER:{smbd.user}", uid=owner)
    assert r.returncode == 0, r.stderr
    log = (
        "import json; from openras.client import Client\n"
        "print(json.dumps([e['kind'] for e in "
        "Client().call('GET', '/v1/events/log', params={'since': 0})]))"
    )
    assert "net" in d.python_json(log, uid=owner)
    assert "net" not in d.python_json(log, uid=other)
    assert "net" in d.python_json(log)  # root sees everything
