"""More of the RAS contract through the real daemon: hang-up during a dial, the asyncio API,
slow subscribers over a real socket, the phonebook through the CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
from ras_helpers import SSH_STATES, events_of, silent_entry, ssh_entry, status_or_none, wait_for

from openras.codes import RASCS


@pytest.fixture
def silent_server() -> Any:
    """A TCP listener on loopback that accepts and never says a word (an SSH server that hangs)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for s in accepted:
        s.close()
    srv.close()


def test_hang_up_during_a_dial_stops_its_notifications(
    win32ras: Any, daemon: Any, silent_server: int, tmp_path: Any
) -> None:
    silent_entry(daemon, "stuck", silent_server, tmp_path)
    calls: list[int] = []
    in_connect = threading.Event()

    def callback(h: int, msg: int, state: int, error: int, ext: int) -> None:
        calls.append(state)
        if state == win32ras.RASCS_ConnectDevice:
            in_connect.set()

    handle, rc = win32ras.Dial(None, None, ("stuck", "", "", "u", "p", ""), callback)
    assert rc == 0
    assert in_connect.wait(20)  # the key exchange never completes: the dial is in progress
    assert status_or_none(daemon, handle)["phase"] == "dialing"
    with pytest.raises(win32ras.error) as info:
        win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)
    assert info.value.winerror == 730  # ERROR_PROJECTION_NOT_COMPLETE
    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    kinds = [e["kind"] for e in events_of(daemon, handle)]
    assert kinds[-2:] == ["hangup", "released"]
    # No state after the hang-up, and none reached the callback.
    assert kinds.index("hangup") == len([k for k in kinds if k == "state"])
    assert calls == [int(RASCS[s]) for s in SSH_STATES[:3]]


async def test_asyncio_api_dials_and_hangs_up(daemon: Any, sshd: Any) -> None:
    from openras.client import AsyncClient
    from openras.client.ras import AsyncRas

    ssh_entry(daemon, sshd)
    ras = AsyncRas(AsyncClient(home=str(daemon.home), autostart=False))
    async with ras.dial("lab", user=sshd.user, password=sshd.password) as conn:
        assert [n.state.name for n in conn.notifications] == SSH_STATES
        status = await conn.status()
        assert status.phase == "connected" and status.device.socks_port > 0
        handle = conn.handle
    # Leaving the block hung up: the stream shows the teardown complete.
    async for event in ras.events(since=0, handle=handle, kinds="released"):
        assert event.notify == "disconnection"
        break
    with pytest.raises(Exception) as info:
        async with ras.dial("lab", user=sshd.user, password="wrong"):
            pass
    assert getattr(info.value, "code", None) == 691
    await ras.client.aclose()


def test_slow_subscriber_is_cut_off_and_the_daemon_keeps_serving(daemon_factory: Any) -> None:
    daemon = daemon_factory("[daemon]\nsubscriber_queue = 20\n")
    # A subscriber that never reads what it asked for.
    stalled = socket.socket(socket.AF_UNIX)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(str(daemon.socket))
    stalled.sendall(b"GET /v1/events HTTP/1.1\r\nHost: openras\r\n\r\n")
    time.sleep(0.3)
    with daemon.client() as c:
        for i in range(1500):  # every API call publishes an event; a stalled daemon would hang here
            c.call("POST", "/v1/entries", json={"name": f"e{i}", "lines": [["DEVICE", "ssh"]]})
        assert len(c.call("GET", "/v1/entries")) == 1500
    stalled.settimeout(10)
    data = b""
    while True:
        chunk = stalled.recv(65536)
        if not chunk:
            break
        data += chunk
    stalled.close()
    events = [
        json.loads(line[6:]) for line in data.decode().splitlines() if line.startswith("data: ")
    ]
    assert events[-1]["kind"] == "overflow"
    assert events[-1]["resume_from"] == events[-2]["seq"]
    seqs = [e["seq"] for e in events[:-1]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, no gap before the cut


def test_phonebook_through_the_cli(daemon: Any, tmp_path: Any) -> None:
    pbk = tmp_path / "in.pbk"
    pbk.write_bytes(
        b"[A]\r\nMEDIA=serial\r\nDevice=x\r\nDEVICE=tcp\r\nPhoneNumber=127.0.0.1:9\r\nZz=keep\r\n"
        b"\r\n[B]\r\nDEVICE=ssh\r\n"
    )
    assert daemon.cli("phonebook", "import", str(pbk)).returncode == 0
    again = daemon.cli("phonebook", "import", str(pbk))
    assert again.returncode == 85 and "85" in again.stderr  # exists; --replace overwrites
    assert daemon.cli("phonebook", "import", str(pbk), "--replace").returncode == 0
    out = tmp_path / "out.pbk"
    assert daemon.cli("phonebook", "export", str(out)).returncode == 0
    from openras import phonebook

    assert [(e.name, e.lines) for e in phonebook.read_file(str(out))] == [
        (e.name, e.lines) for e in phonebook.read_file(str(pbk))
    ]
    assert daemon.cli("entry", "set", "A", "PhoneNumber=127.0.0.1:10").returncode == 0
    shown = json.loads(daemon.cli("entry", "show", "A", "--json").stdout)
    assert shown["properties"]["PhoneNumber"] == "127.0.0.1:10" and shown["lines"][1] == [
        "Device",
        "x",
    ]
    assert daemon.cli("entry", "rename", "A", "C").returncode == 0
    assert daemon.cli("entry", "delete", "C").returncode == 0
    missing = daemon.cli("entry", "show", "C")
    assert missing.returncode == 623 % 256 and "623" in missing.stderr
    bad = tmp_path / "bad.pbk"
    bad.write_text("[A]\nno equals here\n")
    broken = daemon.cli("phonebook", "import", str(bad))
    assert broken.returncode == 625 % 256 and "625" in broken.stderr


def test_entry_of_another_user_cannot_be_edited(
    daemon_factory: Any, client_uids: tuple[int, int]
) -> None:
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    owner, other = client_uids
    assert daemon.cli("entry", "create", "mine", "DEVICE=ssh", uid=owner).returncode == 0
    denied = daemon.cli("entry", "delete", "mine", uid=other)
    assert denied.returncode == 5 and "Access is denied" in denied.stderr
    assert daemon.cli("entry", "delete", "mine").returncode == 0  # root may


def test_users_not_admitted_are_refused(daemon_factory: Any, client_uids: tuple[int, int]) -> None:
    owner, other = client_uids
    daemon = daemon_factory(f"[daemon]\nallow_users = [{owner}]\n")
    assert daemon.cli("status", uid=owner).returncode == 0
    refused = daemon.cli("status", uid=other)
    assert refused.returncode == 5


def test_connection_notification_for_all_handles(win32ras: Any, daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    made, ended = threading.Event(), threading.Event()
    win32ras.RasConnectionNotification(None, made, win32ras.RASCN_Connection)
    win32ras.RasConnectionNotification(None, ended, win32ras.RASCN_Disconnection)
    assert not made.is_set()
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
    assert rc == 0
    assert made.wait(10) and not ended.is_set()
    win32ras.HangUp(handle)
    assert ended.wait(10)
    with pytest.raises(win32ras.error) as info:
        win32ras.RasConnectionNotification(handle, threading.Event(), win32ras.RASCN_Disconnection)
    assert info.value.winerror == 6
