"""The daemon keeps each caller's RASCONN listing encoded until a connection changes: every
dial, state change and hang-up shows in the next listing, each caller keeps its own dwFlags, and
the columns form (``?form=columns``) carries the same RASCONN fields as the objects form."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ras_helpers import silent_entry, ssh_entry, wait_for

from openras.client.api import ApiError
from openras.client.ras import Ras
from openras.codes.states import RASCF_AllUsers, RASCF_OwnerKnown, RASCF_OwnerMatch
from openras.events.types import Phase
from openras.ras.records import (
    RASCONN_COLUMNS,
    RasConn,
    decode_rasconn,
    decode_rasconn_table,
    encode_rasconn_table,
    table_picker,
)

CONNECTIONS = "/v1/connections"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP listener that accepts and never says a word: an SSH dial waits there."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    accepted: list[socket.socket] = []

    def loop() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(srv.accept()[0])

    threading.Thread(target=loop, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
    for s in accepted:
        s.close()


def _views(client: Any, phase: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The objects form and the columns form, each asked twice (the second from the cache:
    both must agree with the first)."""
    params = {"phase": phase} if phase else {}
    objects = client.call("GET", CONNECTIONS, params=params)
    table = client.call("GET", CONNECTIONS, params={**params, "form": "columns"})
    assert client.call("GET", CONNECTIONS, params=params) == objects
    assert client.call("GET", CONNECTIONS, params={**params, "form": "columns"}) == table
    assert decode_rasconn_table(table) == [decode_rasconn(r) for r in objects]
    return objects, table


def _handles(client: Any, phase: str = "") -> list[int]:
    objects, table = _views(client, phase)
    handles = [r["handle"] for r in objects]
    assert [row[table["columns"].index("handle")] for row in table["rows"]] == handles
    return handles


def _listed(client: Any, phase: str = "") -> list[int]:
    """One listing's handles (for waiting: :func:`_views` asks several times)."""
    return [r["handle"] for r in client.call("GET", CONNECTIONS, params={"phase": phase})]


def _uncached(client: Any) -> list[RasConn]:
    """The RASCONN fields of the full records, which are built at each call."""
    return [decode_rasconn(r) for r in client.call("GET", CONNECTIONS, params={"full": 1})]


def test_listing_follows_dials_state_changes_and_hang_ups(
    win32ras: Any, daemon: Any, sshd: Any, silent_port: int, tmp_path: Any
) -> None:
    silent_entry(daemon, "slow", silent_port, tmp_path, SshConnectTimeout="5")
    ssh_entry(daemon, sshd)
    with daemon.client() as c:
        assert _views(c) == ([], {"columns": list(RASCONN_COLUMNS), "rows": []})

        # A dial appears at once, in the dialing phase.
        slow = Ras(c).dial("slow", user="u", password="p").handle
        assert _handles(c) == [slow]
        assert _handles(c, "dialing") == [slow] and _handles(c, "connected") == []

        # Another dial, connected: both listed, each in its phase.
        lab, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
        assert rc == 0
        assert _handles(c) == sorted([slow, lab])
        assert _handles(c, "connected") == [lab]
        objects, _ = _views(c)
        assert decode_rasconn_table(_views(c)[1]) == _uncached(c)
        named = {r["handle"]: r["device_name"] for r in objects}
        assert named == {
            slow: f"ssh:127.0.0.1:{silent_port}",
            lab: f"ssh:{sshd.host}:{sshd.port}",
        }

        # The silent peer's dial times out: same handles, another phase (only an event says so).
        wait_for(lambda: _listed(c, "failed") == [slow], timeout=30)
        assert _handles(c, "dialing") == [] and _handles(c) == sorted([slow, lab])
        assert decode_rasconn_table(_views(c)[1]) == _uncached(c)

        # Hang-ups: each handle leaves the listing.
        win32ras.HangUp(slow)
        wait_for(lambda: _listed(c) == [lab])
        assert _handles(c) == [lab]
        win32ras.HangUp(lab)
        wait_for(lambda: _listed(c) == [])
        assert _views(c)[1]["rows"] == []


LIST_BOTH_FORMS = (
    "import json; from openras.client import Client\n"
    "c = Client(); rows = c.call('GET', '/v1/connections')\n"
    "table = c.call('GET', '/v1/connections', params={'form': 'columns'})\n"
    "flags = table['rows'] and [r[table['columns'].index('flags')] for r in table['rows']]\n"
    "print(json.dumps([[r['flags'] for r in rows], flags or []]))"
)


def test_each_caller_sees_its_own_flags_in_both_forms(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    """Owner and another user alternate: each view is cached apart; an AllUsers entry adds
    RASCF_AllUsers for both; a hang-up empties both views."""
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    ssh_entry(daemon, sshd)
    ssh_entry(daemon, sshd, "shared", AllUsers="1")
    owner, other = client_uids
    creds = f"{sshd.user!r}, {sshd.password!r}"
    dial = (
        "import json; from openras import win32ras as w\n"
        f"print(json.dumps([w.Dial(None, None, (e, '', '', {creds}, ''), None)[0]"
        " for e in ('lab', 'shared')]))"
    )
    lab, shared = daemon.python_json(dial, uid=owner)
    mine, others = RASCF_OwnerKnown | RASCF_OwnerMatch, RASCF_OwnerKnown
    for _ in range(2):
        assert daemon.python_json(LIST_BOTH_FORMS, uid=owner) == [[mine, mine | RASCF_AllUsers]] * 2
        assert (
            daemon.python_json(LIST_BOTH_FORMS, uid=other)
            == [[others, others | RASCF_AllUsers]] * 2
        )
    # The other user may list but not act on the owner's handle.
    refused = daemon.python(f"from openras import win32ras as w; w.HangUp({lab})", uid=other)
    assert refused.returncode != 0 and "error" in refused.stderr
    assert daemon.python_json(LIST_BOTH_FORMS, uid=other) == [[others, others | RASCF_AllUsers]] * 2
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({lab}); w.HangUp({shared}); print(1)",
        uid=owner,
    )
    wait_for(lambda: daemon.python_json(LIST_BOTH_FORMS, uid=other) == [[], []])
    assert daemon.python_json(LIST_BOTH_FORMS, uid=owner) == [[], []]


def test_columns_form_round_trips_to_the_rasconn_fields() -> None:
    conns = [
        RasConn(7, "lab", "ssh", "ssh:127.0.0.1:22", "", 1, "g-1", RASCF_OwnerKnown),
        RasConn(9, ".10.0.0.1", "tcp", "tcp:10.0.0.1:2000", "/home/u/a.pbk", 1, "g-2", 0xC),
    ]
    table = encode_rasconn_table(conns)
    assert table["columns"] == list(RASCONN_COLUMNS)
    assert decode_rasconn_table(table) == conns
    # A reader finds the fields by the table's columns: reordered or added columns still work.
    order = [*reversed(RASCONN_COLUMNS), "future"]
    shuffled = {
        "columns": order,
        "rows": [[*reversed(row), "x"] for row in table["rows"]],
    }
    assert decode_rasconn_table(shuffled) == conns
    pick = table_picker(shuffled, ("handle", "entry", "device_type", "device_name"))
    assert [pick(r) for r in shuffled["rows"]] == [
        (7, "lab", "ssh", "ssh:127.0.0.1:22"),
        (9, ".10.0.0.1", "tcp", "tcp:10.0.0.1:2000"),
    ]
    with pytest.raises(KeyError):
        table_picker({"columns": ["handle"], "rows": []}, ("handle", "entry"))


def test_bad_forms_are_refused(daemon: Any) -> None:
    with daemon.client() as c:
        for params in (
            {"form": "rows"},
            {"form": "columns", "full": 1},
            {"form": "columns", "statistics": 1},
        ):
            with pytest.raises(ApiError) as bad:
                c.call("GET", CONNECTIONS, params=params)
            assert bad.value.code == 87, params
        assert c.call("GET", CONNECTIONS, params={"form": "objects"}) == []


async def test_asyncio_enumerate_reads_the_columns_form(daemon: Any, sshd: Any) -> None:
    from openras.client import AsyncClient
    from openras.client.ras import AsyncRas

    ssh_entry(daemon, sshd)
    ras = AsyncRas(AsyncClient(home=str(daemon.home), autostart=False))
    try:
        assert await ras.enumerate() == []
        async with ras.dial("lab", user=sshd.user, password=sshd.password) as conn:
            conns = await ras.enumerate()
            with daemon.client() as c:
                assert conns == Ras(c).enumerate() == _uncached(c)
            assert [x.handle for x in conns] == [conn.handle]
            assert await ras.enumerate(phases=(Phase.DIALING,)) == []
    finally:
        await ras.client.aclose()
