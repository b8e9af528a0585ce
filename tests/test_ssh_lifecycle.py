"""The RAS lifecycle on a real SSH link (issue: connection manager core, "Must show").

Every test talks to a real OpenSSH sshd on loopback and a real openras daemon process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest
from ras_helpers import SSH_STATES, events_of, port_open, ssh_entry, status_or_none, wait_for

from openras.codes import RASCS
from openras.events import StateChanged

DIAL_AND_EXIT = """
import json, sys
from openras import win32ras
h, rc = win32ras.Dial(None, {pbk}, ({entry!r}, "", "", {user!r}, {password!r}, ""), None)
print(json.dumps({{"handle": h, "rc": rc}}))
"""


def dial_in_process(
    daemon: Any,
    sshd: Any,
    entry: str = "lab",
    password: str | None = None,
    uid: int | None = None,
    pbk: str | None = None,
) -> dict[str, Any]:
    code = DIAL_AND_EXIT.format(
        entry=entry,
        user=sshd.user,
        password=sshd.password if password is None else password,
        pbk=repr(pbk),
    )
    return daemon.python_json(code, uid=uid)


def test_async_dial_notifies_every_state_in_order_then_nothing(
    win32ras: Any, daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd)
    calls: list[tuple[int, int, int, int, int]] = []
    final = threading.Event()

    def callback(hrasconn: int, msg: int, state: int, error: int, extended: int) -> None:
        calls.append((hrasconn, msg, state, error, extended))
        if state == win32ras.RASCS_Connected or error:
            final.set()

    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), callback)
    assert rc == 0 and handle > 0
    assert final.wait(30), calls
    assert [RASCS(c[2]).name for c in calls] == SSH_STATES
    assert all(c[0] == handle and c[1] == win32ras.WM_RASDIALEVENT and c[3] == 0 for c in calls)
    assert win32ras.GetConnectStatus(handle) == (
        win32ras.RASCS_Connected,
        0,
        "ssh",
        f"ssh:{sshd.host}:{sshd.port}",
    )
    projection = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)
    assert projection["dwError"] == 0 and projection["szServerIpAddress"] == "127.0.0.1"
    assert port_open(projection["dwSocksPort"])

    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    with pytest.raises(win32ras.error) as info:
        win32ras.GetConnectStatus(handle)
    assert info.value.winerror == 6
    assert not port_open(projection["dwSocksPort"])
    # Nothing followed the final notification, not even through the hang-up.
    assert len(calls) == len(SSH_STATES)


def test_bad_password_ends_in_authenticate_with_691_and_handle_needs_hangup(
    win32ras: Any, daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd)
    calls: list[tuple[int, int]] = []
    final = threading.Event()

    def callback(h: int, msg: int, state: int, error: int, extended: int) -> None:
        calls.append((state, error))
        if state == win32ras.RASCS_Connected or error:
            final.set()

    handle, rc = win32ras.Dial(
        None, None, ("lab", "", "", sshd.user, "wrong-password", ""), callback
    )
    assert rc == 0 and handle
    assert final.wait(30)
    assert calls[-1] == (win32ras.RASCS_Authenticate, 691)
    assert [RASCS(s).name for s, _ in calls[:-1]] == SSH_STATES[:6]
    # The failed handle stays listed with its error until hung up.
    assert win32ras.GetConnectStatus(handle)[:2] == (win32ras.RASCS_Authenticate, 691)
    assert handle in [c[0] for c in win32ras.EnumConnections()]
    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    assert not win32ras.IsHandleValid(handle)

    # Synchronous dial: the same failure as a return code.
    handle2, rc2 = win32ras.Dial(None, None, ("lab", "", "", sshd.user, "wrong-password", ""), None)
    assert rc2 == 691 and handle2 and handle2 != handle  # handles are never reused
    win32ras.HangUp(handle2)


def test_connection_outlives_the_dialer_and_is_used_listed_and_hung_up_by_others(
    daemon: Any, sshd: Any, http_server: Any
) -> None:
    ssh_entry(daemon, sshd)
    first = dial_in_process(daemon, sshd)  # this process exits right after dialing
    assert first["rc"] == 0
    handle = first["handle"]

    # A second process: lists the connection and fetches a page through the SOCKS listener.
    listing = daemon.python_json(
        "import json; from openras import win32ras as w\n"
        f"p = w.GetProjectionInfo({handle}, w.RASP_PppIp)\n"
        "print(json.dumps({'conns': w.EnumConnections(), 'port': p['dwSocksPort']}))"
    )
    assert [handle, "lab", "ssh", f"ssh:{sshd.host}:{sshd.port}"] in listing["conns"]
    page = subprocess.run(
        [
            "curl",
            "-s",
            "--max-time",
            "10",
            "--socks5",
            f"127.0.0.1:{listing['port']}",
            f"http://127.0.0.1:{http_server.port}/",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert http_server.token in page.stdout
    rasdial = daemon.rasdial()
    assert rasdial.returncode == 0 and "Connected to\nlab\n" in rasdial.stdout

    # A third process hangs up, then polls status until ERROR_INVALID_HANDLE.
    result = daemon.python_json(
        "import json, time; from openras import win32ras as w\n"
        f"w.HangUp({handle})\n"
        "answers = []\n"
        "while True:\n"
        f"    try: answers.append(w.GetConnectStatus({handle})[0])\n"
        "    except w.error as e: "
        "print(json.dumps({'answers': answers, 'winerror': e.winerror})); break\n"
    )
    assert result["winerror"] == 6
    assert not port_open(listing["port"])
    kinds = [e["kind"] for e in events_of(daemon, handle)]
    assert kinds.index("hangup") < kinds.index("released") == len(kinds) - 1


def test_server_side_kill_gives_disconnected_with_a_code_and_rascn_disconnection(
    win32ras: Any, daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd)
    with daemon.client() as c:
        since = c.call("GET", "/v1/health")["last_seq"]
    # The watcher resumes from `since`: it cannot miss an event that happens before it subscribes.
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openras",
            "monitor",
            "--json",
            "--notify",
            "disconnection",
            "--since",
            str(since),
        ],
        env={**daemon.env, "OPENRAS_NO_AUTOSTART": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    fired = threading.Event()
    try:
        handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
        assert rc == 0
        win32ras.RasConnectionNotification(handle, fired, win32ras.RASCN_Disconnection)
        sshd.kill_sessions()
        ready, _, _ = select.select([watcher.stdout], [], [], 30)
        assert ready, "the watcher saw no disconnection"
        event = json.loads(watcher.stdout.readline())
        assert event["handle"] == handle and event["notify"] == "disconnection"
        assert event["state"] == win32ras.RASCS_Disconnected and event["error"] in (629, 829)
        assert fired.wait(10)
        # The handle answers status with its error until hung up.
        state, error, _, _ = win32ras.GetConnectStatus(handle)
        assert (state, error) == (win32ras.RASCS_Disconnected, event["error"])
        win32ras.HangUp(handle)
        wait_for(lambda: status_or_none(daemon, handle) is None)
    finally:
        watcher.kill()
        watcher.wait()


def test_silent_peer_is_detected_by_keepalive_with_829(
    win32ras: Any, daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd, SshKeepAliveSeconds="1", SshKeepAliveCount="2")
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
    assert rc == 0
    sshd.stop_sessions()
    try:
        status = wait_for(
            lambda: (s := status_or_none(daemon, handle)) and s["phase"] == "failed" and s,
            timeout=30,
        )
    finally:
        sshd.cont_sessions()
    assert status["state"] == int(RASCS.Disconnected) and status["error"] == 829
    win32ras.HangUp(handle)


def test_two_dials_share_a_handle_until_both_hang_up(win32ras: Any, daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    a = dial_in_process(daemon, sshd)
    b = dial_in_process(daemon, sshd)
    assert a["rc"] == b["rc"] == 0 and a["handle"] == b["handle"]
    handle = a["handle"]
    port = win32ras.GetProjectionInfo(handle, win32ras.RASP_PppIp)["dwSocksPort"]
    assert status_or_none(daemon, handle)["refs"] == 2
    win32ras.HangUp(handle)
    assert win32ras.GetConnectStatus(handle)[0] == win32ras.RASCS_Connected
    assert port_open(port)
    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    assert not port_open(port)


def test_another_user_may_list_but_not_hang_up(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    ssh_entry(daemon, sshd)
    owner, other = client_uids
    dialed = dial_in_process(daemon, sshd, uid=owner)
    assert dialed["rc"] == 0
    handle = dialed["handle"]
    seen = daemon.python_json(
        "import json; from openras import win32ras as w; print(json.dumps(w.EnumConnections()))",
        uid=other,
    )
    assert handle in [c[0] for c in seen]
    denied = daemon.python_json(
        "import json; from openras import win32ras as w\n"
        f"try: w.HangUp({handle}); print(json.dumps(0))\n"
        "except w.error as e: print(json.dumps(e.winerror))",
        uid=other,
    )
    assert denied == 5
    assert status_or_none(daemon, handle)["phase"] == "connected"
    assert status_or_none(daemon, handle)["owner_uid"] == owner
    # The owner may.
    daemon.python_json(
        f"import json; from openras import win32ras as w; w.HangUp({handle}); print(1)", uid=owner
    )
    wait_for(lambda: status_or_none(daemon, handle) is None)


def test_daemon_killed_while_connected_and_restarted(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    dialed = dial_in_process(daemon, sshd)
    handle = dialed["handle"]
    before = events_of(daemon)[-1]["seq"]
    port = status_or_none(daemon, handle)["device"]["socks_port"]
    daemon.kill()
    assert not port_open(port)  # the link died with the process
    daemon.start()
    status = status_or_none(daemon, handle)
    assert (
        status["state"] == int(RASCS.Disconnected)
        and status["error"] == 668
        and status["phase"] == "failed"
    )
    with daemon.client() as c:
        listed = c.call("GET", "/v1/connections", params={"full": 1})
        assert all(conn["phase"] != "connected" for conn in listed)
        # A watcher resuming from before the crash gets RASCN_Disconnection for the handle.
        for event in c.events(since=before, notify="disconnection"):
            assert isinstance(event, StateChanged)
            assert event.handle == handle and event.recovered is True
            break
    lost = [e for e in events_of(daemon, handle) if e.get("recovered")]
    assert lost and lost[0]["error"] == 668
    # A new handle never reuses an old number.
    again = dial_in_process(daemon, sshd)
    assert again["rc"] == 0 and again["handle"] > handle


def test_sigterm_hangs_links_up_cleanly(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    handle = dial_in_process(daemon, sshd)["handle"]
    port = status_or_none(daemon, handle)["device"]["socks_port"]
    assert daemon.stop(signal.SIGTERM) == 0
    assert not port_open(port)
    from openras.store import Store

    store = Store(str(daemon.home / "openras.db"))
    events = [e for e in store.events_since(0, 10000) if e.get("handle") == handle]
    assert events[-1]["kind"] == "released" and events[-1]["notify"] == "disconnection"
    assert store.list_connections() == []


def test_failed_handle_of_a_dead_process_is_released_after_grace(daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd)
    result = dial_in_process(daemon, sshd, password="wrong")  # exits without hanging up
    assert result["rc"] == 691
    handle = result["handle"]
    assert status_or_none(daemon, handle)["error"] == 691
    wait_for(lambda: status_or_none(daemon, handle) is None, timeout=30)
    assert events_of(daemon, handle)[-1]["detail"] == "owner process gone"


@pytest.mark.parametrize("which", ["unknown", "changed"])
def test_host_key_is_always_checked(
    win32ras: Any, daemon: Any, sshd: Any, tmp_path: Any, which: str
) -> None:
    if which == "unknown":
        known = tmp_path / "empty_known_hosts"
        known.write_text("")
    else:
        known = sshd.wrong_known_hosts
    ssh_entry(daemon, sshd)
    with daemon.client() as c:
        c.call("PATCH", "/v1/entries/lab", json={"properties": {"SshKnownHosts": str(known)}})
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), None)
    # 857: the key the client authenticates the server with is not trusted; the detail shows
    # the key the server offers and the command that trusts it.
    assert rc == 857
    state, error, _, _ = win32ras.GetConnectStatus(handle)
    assert (state, error) == (win32ras.RASCS_ConnectDevice, 857)
    detail = status_or_none(daemon, handle)["detail"]
    assert "host key" in detail and "SHA256:" in detail
    assert "openras entry trust lab" in detail
    win32ras.HangUp(handle)


def test_key_authentication(win32ras: Any, daemon: Any, sshd: Any) -> None:
    ssh_entry(daemon, sshd, SshKey=str(sshd.client_key))
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, "", ""), None)
    assert rc == 0
    win32ras.HangUp(handle)


def test_saved_credentials_are_used_and_never_returned(
    win32ras: Any, daemon: Any, sshd: Any
) -> None:
    ssh_entry(daemon, sshd)
    win32ras.SetEntryDialParams(None, ("lab", "", "", sshd.user, sshd.password, ""), 0)
    params, have = win32ras.GetEntryDialParams(None, "lab")
    assert have == 1 and params[3] == sshd.user and params[4] == "*" * 16
    # Windows code passes the returned params straight back to Dial: the saved password is used.
    handle, rc = win32ras.Dial(None, None, params, None)
    assert rc == 0
    with daemon.client() as c:
        blobs = [
            json.dumps(c.call("GET", path))
            for path in (
                "/v1/entries",
                "/v1/entries/lab",
                "/v1/entries/lab/credentials",
                "/v1/connections",
                f"/v1/connections/{handle}",
                "/v1/events/log",
                "/v1/phonebook/export",
            )
        ]
    assert all(sshd.password not in blob for blob in blobs)
    win32ras.HangUp(handle)
    wait_for(lambda: status_or_none(daemon, handle) is None)
    daemon.stop()  # every queued log line written
    assert sshd.password not in daemon.log()
    assert os.stat(daemon.home / "openras.db").st_mode & 0o077 == 0


def test_dial_from_a_phonebook_file(daemon: Any, sshd: Any, tmp_path: Any) -> None:
    pbk = tmp_path / "rasphone.pbk"
    pbk.write_text(
        f"[FileEntry]\r\nMEDIA=none\r\nDEVICE=ssh\r\nPhoneNumber={sshd.host}:{sshd.port}\r\n"
        f"SshKnownHosts={sshd.known_hosts}\r\n"
    )
    result = dial_in_process(daemon, sshd, entry="FileEntry", pbk=str(pbk))
    assert result["rc"] == 0
    status = status_or_none(daemon, result["handle"])
    assert status["entry"] == "FileEntry" and status["phonebook"] == str(pbk)
    down = daemon.rasdial("FileEntry", "/DISCONNECT")
    assert down.returncode == 0 and "Command completed successfully." in down.stdout
    assert status_or_none(daemon, result["handle"]) is None  # /DISCONNECT returned only once gone
    # rasdial with /PHONEBOOK: and the Windows exit status (691 → 691 % 256).
    bad = daemon.rasdial("FileEntry", sshd.user, "wrong", f"/PHONEBOOK:{pbk}")
    assert bad.returncode == 691 % 256 and "Remote Access error 691" in bad.stderr
    good = daemon.rasdial("FileEntry", sshd.user, sshd.password, f"/PHONEBOOK:{pbk}")
    assert good.returncode == 0, good.stderr
    assert (
        "Connecting to FileEntry..." in good.stdout
        and "Successfully connected to FileEntry." in good.stdout
    )
    assert daemon.rasdial("FileEntry", "/DISCONNECT").returncode == 0
    missing = daemon.rasdial("Nope", f"/PHONEBOOK:{pbk}")
    assert missing.returncode == 623 % 256 and "623" in missing.stderr


def test_saved_credentials_belong_to_the_user_who_saved_them(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    ssh_entry(daemon, sshd)
    owner, other = client_uids
    save = (
        "from openras import win32ras as w; "
        f"w.SetEntryDialParams(None, ('lab', '', '', {sshd.user!r}, "
        f"{sshd.password!r}, ''), 0); print(1)"
    )
    assert daemon.python_json(save, uid=owner) == 1
    probe = (
        "import json; from openras import win32ras as w\n"
        "p, have = w.GetEntryDialParams(None, 'lab')\n"
        "h, rc = w.Dial(None, None, p, None)\n"
        "print(json.dumps([have, rc, h]))"
    )
    have, rc, handle = daemon.python_json(probe, uid=other)
    assert have == 0 and rc == 691  # the other user's dial did not get the owner's password
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({handle}); print(1)", uid=other
    )
    have, rc, handle = daemon.python_json(probe, uid=owner)
    assert have == 1 and rc == 0
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({handle}); print(1)", uid=owner
    )


def test_entry_files_are_read_with_the_dialing_users_rights(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int], tmp_path: Any
) -> None:
    """A root daemon must not read, for another user, a key that user could not read."""
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    user, _ = client_uids
    os.chmod(sshd.known_hosts, 0o644)
    ssh_entry(daemon, sshd, SshKey=str(sshd.client_key))  # root's 0600 key
    dialed = dial_in_process(daemon, sshd, uid=user, password="")
    assert dialed["rc"] == 621  # the dialing user cannot open it (missing or forbidden)
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({dialed['handle']}); print(1)", uid=user
    )
    # A symlink to the key is not followed, even for root.
    link = tmp_path / "link"
    link.symlink_to(sshd.client_key)
    with daemon.client() as c:
        c.call("PATCH", "/v1/entries/lab", json={"properties": {"SshKey": str(link)}})
    assert dial_in_process(daemon, sshd, password="")["rc"] == 621
    # The user's own copy works.
    own = sshd.client_key_for(user)
    with daemon.client() as c:
        c.call("PATCH", "/v1/entries/lab", json={"properties": {"SshKey": str(own)}})
    dialed = dial_in_process(daemon, sshd, uid=user, password="")
    assert dialed["rc"] == 0
    daemon.python_json(
        f"from openras import win32ras as w; w.HangUp({dialed['handle']}); print(1)", uid=user
    )
