"""RasEnumConnections answers the RASCONN fields; full records (and statistics) on request,
in the API, win32ras, rasdial and ``openras status``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ras_helpers import ssh_entry, wait_for

from openras.client.api import ApiError
from openras.client.ras import Ras
from openras.codes.states import RASCF_OwnerKnown, RASCF_OwnerMatch
from openras.events.types import Phase
from openras.ras.records import ConnectionRecord, RasConn

RASCONN_KEYS = {
    "handle",
    "entry",
    "device_type",
    "device_name",
    "phonebook",
    "subentry",
    "guid",
    "flags",
}


def test_enumeration_views(win32ras: Any, daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
    assert rc == 0
    device_name = f"ssh:{sshd.host}:{sshd.port}"
    with daemon.client() as c:
        rows = c.call("GET", "/v1/connections")
        full = c.call("GET", "/v1/connections", params={"full": 1})
        connected = c.call("GET", "/v1/connections", params={"phase": "connected"})
        dialing = c.call("GET", "/v1/connections", params={"phase": "dialing,failed"})
        with_stats = c.call("GET", "/v1/connections", params={"statistics": 1})
        with pytest.raises(ApiError) as bad:
            c.call("GET", "/v1/connections", params={"phase": "sleeping"})
        with pytest.raises(ApiError) as bad_full:
            c.call("GET", "/v1/connections", params={"full": 2})
    assert bad.value.code == 87 and bad_full.value.code == 87
    assert [set(r) for r in rows] == [RASCONN_KEYS]
    assert rows[0]["handle"] == handle and rows[0]["device_name"] == device_name
    assert rows[0]["flags"] == RASCF_OwnerKnown | RASCF_OwnerMatch  # this user dialed it
    assert full[0]["state_name"] == "RASCS_Connected" and full[0]["guid"] == rows[0]["guid"]
    assert RASCONN_KEYS < set(full[0])
    assert [r["handle"] for r in connected] == [handle] and dialing == []
    assert with_stats[0]["statistics"]["dwConnectDuration"] >= 0

    # Typed clients: connections() keeps full records, enumerate() is RASCONN.
    with daemon.client() as c:
        ras = Ras(c)
        records = ras.connections()
        conns = ras.enumerate()
        assert ras.enumerate(phases=(Phase.FAILED,)) == []
    assert isinstance(records[0], ConnectionRecord) and records[0].phase is Phase.CONNECTED
    assert conns == [
        RasConn(handle, "lab", "ssh", device_name, "", 1, rows[0]["guid"], rows[0]["flags"])
    ]
    assert win32ras.EnumConnections() == [(handle, "lab", "ssh", device_name)]

    # rasdial with no arguments; openras status in its three forms.
    listed = daemon.rasdial()
    assert listed.returncode == 0 and "Connected to\nlab\n" in listed.stdout
    text = daemon.cli("status")
    assert text.returncode == 0 and device_name in text.stdout
    assert "RASCS_Connected" not in text.stdout
    assert "RASCS_Connected" in daemon.cli("status", "--full").stdout
    as_json = json.loads(daemon.cli("status", "--json").stdout)
    assert set(as_json[0]) == RASCONN_KEYS | {"statistics"}
    as_full = json.loads(daemon.cli("status", "--json", "--full").stdout)
    assert as_full[0]["state_name"] == "RASCS_Connected" and "statistics" in as_full[0]

    hung = daemon.rasdial("lab", "/disconnect")
    assert hung.returncode == 0, hung.stdout + hung.stderr
    assert win32ras.EnumConnections() == []


LIST_FLAGS = (
    "import json; from openras.client import Client\n"
    "print(json.dumps([r['flags'] for r in Client().call('GET', '/v1/connections')]))"
)


def test_rasconn_flags_are_the_callers(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    """The listing is cached per handle: each caller still sees its own dwFlags."""
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    ssh_entry(daemon, sshd)
    owner, other = client_uids
    dial = (
        "import json; from openras import win32ras as w\n"
        f"print(json.dumps(w.Dial(None, None, ('lab', '', '', {sshd.user!r}, "
        f"{sshd.password!r}, ''), None)))"
    )
    handle, rc = daemon.python_json(dial, uid=owner)
    assert rc == 0
    for _ in range(2):  # the second time from the cache
        assert daemon.python_json(LIST_FLAGS, uid=owner) == [RASCF_OwnerKnown | RASCF_OwnerMatch]
        assert daemon.python_json(LIST_FLAGS, uid=other) == [RASCF_OwnerKnown]
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({handle}); print(1)", uid=owner
    )
    wait_for(lambda: daemon.python_json(LIST_FLAGS, uid=other) == [])
