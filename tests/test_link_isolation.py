"""Nobody rides another user's link (issue 10, items 4, 5, 9 and 10).

Real sshd on loopback, a real daemon process, clients run as other uids (``client_uids``).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from peers.users import run_as
from ras_helpers import ssh_entry, status_or_none, wait_for

NOBODY = 65534

DIAL = """
import json
from openras import win32ras
h, rc = win32ras.Dial(None, None, ({entry!r}, "", "", {user!r}, {password!r}, ""), None)
print(json.dumps({{"handle": h, "rc": rc}}))
"""


def dial_as(daemon: Any, uid: int | None, entry: str, user: str, password: str) -> dict[str, Any]:
    return daemon.python_json(DIAL.format(entry=entry, user=user, password=password), uid=uid)


def hang_up_as(daemon: Any, uid: int | None, handle: int) -> int:
    """HangUp as ``uid``: 0, or the error it raised."""
    return daemon.python_json(
        "import json; from openras import win32ras as w\n"
        f"try: w.HangUp({handle}); print(json.dumps(0))\n"
        "except w.error as e: print(json.dumps(e.winerror))",
        uid=uid,
    )


def open_daemon(daemon_factory: Any, sshd: Any, entry: str, **extra: str) -> Any:
    """A daemon every local user may talk to, with an SSH entry ``entry`` whose known-hosts
    file every user can read."""
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    os.chmod(sshd.known_hosts, 0o644)
    ssh_entry(daemon, sshd, entry, **extra)
    return daemon


def curl_through(port: int, url: str, uid: int | None) -> subprocess.CompletedProcess[str]:
    argv = ["curl", "-s", "--max-time", "10", "--socks5-hostname", f"127.0.0.1:{port}", url]
    if uid is None:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return run_as(uid, None, argv, timeout=30)


def socks_port(daemon: Any, handle: int) -> int:
    status = status_or_none(daemon, handle)
    assert status is not None
    return int(status["device"]["socks_port"])


# -- item 5: the SOCKS listener carries only its owner ------------------------------------------
def test_socks_listener_carries_only_the_links_owner(
    daemon_factory: Any, sshd: Any, http_server: Any, client_uids: tuple[int, int]
) -> None:
    daemon = open_daemon(daemon_factory, sshd, "mine")
    owner, other = client_uids
    url = f"http://127.0.0.1:{http_server.port}/"

    dialed = dial_as(daemon, owner, "mine", sshd.user, sshd.password)
    assert dialed["rc"] == 0
    port = socks_port(daemon, dialed["handle"])
    mine = curl_through(port, url, owner)
    assert mine.returncode == 0 and http_server.token in mine.stdout
    for stranger in (other, NOBODY):
        refused = curl_through(port, url, stranger)
        assert refused.returncode != 0 and http_server.token not in refused.stdout
    # The owner's tools still work after strangers were turned away.
    again = curl_through(port, url, owner)
    assert http_server.token in again.stdout
    assert hang_up_as(daemon, owner, dialed["handle"]) == 0

    # root's link: nobody may not use it, root may.
    ssh_entry(daemon, sshd, "roots")
    dialed = dial_as(daemon, None, "roots", sshd.user, sshd.password)
    assert dialed["rc"] == 0
    port = socks_port(daemon, dialed["handle"])
    assert http_server.token in curl_through(port, url, None).stdout
    assert http_server.token not in curl_through(port, url, NOBODY).stdout
    assert hang_up_as(daemon, None, dialed["handle"]) == 0
    wait_for(lambda: status_or_none(daemon, dialed["handle"]) is None)
    # The log is written by a thread of the daemon's: wait for the refusal's line.
    log = wait_for(lambda: f"uid {NOBODY}" in (text := daemon.log()) and text)
    assert json.dumps(sshd.password) not in log


EAGER_STRANGER = """
import json, socket, struct
answers = []
for _ in range({tries}):
    s = socket.create_connection(("127.0.0.1", {port}), timeout=5)
    # Greeting and CONNECT in one write, at once: sent before any uid check can have ended.
    s.sendall(b"\\x05\\x01\\x00" + b"\\x05\\x01\\x00\\x01" + socket.inet_aton("127.0.0.1")
              + struct.pack(">H", {http_port}) + b"GET / HTTP/1.0\\r\\n\\r\\n")
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except OSError:
        pass
    answers.append(len(data))
    s.close()
print(json.dumps(answers))
"""


def test_a_stranger_sending_at_once_gets_not_a_byte(
    daemon_factory: Any, sshd: Any, http_server: Any, client_uids: tuple[int, int]
) -> None:
    """What a client sends before its uid is checked is held, never handed to SOCKS."""
    daemon = open_daemon(daemon_factory, sshd, "mine")
    owner, _ = client_uids
    dialed = dial_as(daemon, owner, "mine", sshd.user, sshd.password)
    assert dialed["rc"] == 0
    port = socks_port(daemon, dialed["handle"])
    code = EAGER_STRANGER.format(tries=20, port=port, http_port=http_server.port)
    assert daemon.python_json(code, uid=NOBODY) == [0] * 20
    mine = daemon.python_json(code.replace("range(20)", "range(1)"), uid=owner)
    assert mine[0] > 0  # the owner's eager client is answered (SOCKS replies, then the page)
    assert hang_up_as(daemon, owner, dialed["handle"]) == 0


# -- item 4: joining another user's connection ----------------------------------------------------
def test_another_user_joins_only_an_all_users_entry_with_its_credentials(
    daemon_factory: Any, sshd: Any, http_server: Any, client_uids: tuple[int, int]
) -> None:
    daemon = open_daemon(daemon_factory, sshd, "private")
    owner, other = client_uids
    mine = dial_as(daemon, owner, "private", sshd.user, sshd.password)
    assert mine["rc"] == 0
    # Same credentials, but the entry is not marked for all users: no ride.
    refused = dial_as(daemon, other, "private", sshd.user, sshd.password)
    assert refused == {"handle": 0, "rc": 5}
    assert status_or_none(daemon, mine["handle"])["refs"] == 1
    assert hang_up_as(daemon, owner, mine["handle"]) == 0
    wait_for(lambda: status_or_none(daemon, mine["handle"]) is None)

    ssh_entry(daemon, sshd, "shared", AllUsers="1")
    mine = dial_as(daemon, owner, "shared", sshd.user, sshd.password)
    assert mine["rc"] == 0
    wrong = dial_as(daemon, other, "shared", sshd.user, "not-" + sshd.password)
    assert wrong == {"handle": 0, "rc": 691}
    url = f"http://127.0.0.1:{http_server.port}/"
    port = socks_port(daemon, mine["handle"])
    assert http_server.token not in curl_through(port, url, other).stdout
    joined = dial_as(daemon, other, "shared", sshd.user, sshd.password)
    assert joined == mine
    # Having joined with the entry's credentials, the other user may use the link.
    assert http_server.token in curl_through(port, url, other).stdout
    status = status_or_none(daemon, mine["handle"])
    assert status["refs"] == 2 and status["flags"] & 0x1  # RASCF_AllUsers
    # The owner's hang-up ends the link for every holder.
    assert hang_up_as(daemon, owner, mine["handle"]) == 0
    wait_for(lambda: status_or_none(daemon, mine["handle"]) is None)


def test_roots_disconnect_ends_a_link_held_by_others(
    daemon_factory: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    daemon = open_daemon(daemon_factory, sshd, "shared", AllUsers="1")
    owner, other = client_uids
    first = dial_as(daemon, owner, "shared", sshd.user, sshd.password)
    assert dial_as(daemon, owner, "shared", sshd.user, sshd.password) == first
    assert dial_as(daemon, other, "shared", sshd.user, sshd.password) == first
    assert status_or_none(daemon, first["handle"])["refs"] == 3
    # root holds no reference: its rasdial /DISCONNECT ends the link and returns.
    done = daemon.rasdial("shared", "/DISCONNECT", timeout=60)
    assert done.returncode == 0, done.stderr
    assert status_or_none(daemon, first["handle"]) is None


# -- item 9: credential keys cannot collide with entry names ---------------------------------------
API_AS = """
import json
from openras.client import ApiError, Client
try:
    with Client(autostart=False) as c:
        print(json.dumps({{"ok": c.call({method!r}, {path!r}, json={body!r})}}))
except ApiError as e:
    print(json.dumps({{"code": e.code}}))
"""


def api_as(daemon: Any, uid: int, method: str, path: str, body: Any = None) -> dict[str, Any]:
    return daemon.python_json(API_AS.format(method=method, path=path, body=body), uid=uid)


def test_an_entry_name_cannot_take_another_users_credential_key(
    daemon_factory: Any, client_uids: tuple[int, int], tmp_path: Any
) -> None:
    from urllib.parse import quote

    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    _, other = client_uids
    pbk = str(tmp_path / "root.pbk")
    creds = {"user": "root-user", "password": "root-secret", "domain": ""}
    with daemon.client() as c:
        c.call("PUT", "/v1/entries/vpn/credentials", json=creds, params={"phonebook": pbk})
    colliding = f"file:{pbk}|vpn"
    made = api_as(daemon, other, "POST", "/v1/entries", {"name": colliding, "lines": []})
    assert made == {"code": 87}
    # Nor by renaming an entry of one's own, nor by importing one.
    assert "ok" in api_as(daemon, other, "POST", "/v1/entries", {"name": "mine", "lines": []})
    renamed = api_as(daemon, other, "PATCH", "/v1/entries/mine", {"name": colliding})
    assert renamed == {"code": 87}
    text = f"[{colliding}]\nDEVICE=ssh\n"
    assert api_as(daemon, other, "POST", "/v1/phonebook/import", {"text": text}) == {"code": 87}
    # Whatever the other user tried, deleting "their" entry does not reach root's credentials.
    api_as(daemon, other, "DELETE", "/v1/entries/" + quote(colliding, safe=""))
    with daemon.client() as c:
        saved = c.call("GET", "/v1/entries/vpn/credentials", params={"phonebook": pbk})
    assert saved == {"user": "root-user", "domain": "", "have_password": True}


def test_an_older_stores_colliding_entry_does_not_reach_credentials(tmp_path: Any) -> None:
    """A store written before names with '|' were refused may hold such an entry."""
    from openras.store import Store

    store = Store(str(tmp_path / "openras.db"))
    key = "file:/root/root.pbk|vpn"
    store.put_credentials(0, key, "root-user", "root-secret", "")
    store.put_entry(key, 40002, [])
    store.rename_entry(key, "elsewhere")
    store.put_entry(key, 40002, [])
    assert store.delete_entry(key)
    assert store.get_credentials(0, key) == ("root-user", "root-secret", "")
    assert store.get_credentials(0, "elsewhere") is None
    store.close()


# -- item 10: entry files are resolved and opened as the dialing user -----------------------------
DIAL_DETAIL = """
import json
from openras import win32ras as w
from openras.client import Client
h, rc = w.Dial(None, None, ({entry!r}, "", "", {user!r}, {password!r}, ""), None)
with Client(autostart=False) as c:
    detail = c.call("GET", f"/v1/connections/{{h}}")["detail"] if h else ""
if h:
    w.HangUp(h)
print(json.dumps([rc, detail]))
"""


def test_entry_files_are_resolved_and_opened_as_the_dialing_user(
    sshd: Any, client_uids: tuple[int, int]
) -> None:
    import shutil
    import tempfile
    from pathlib import Path

    from harness import Daemon

    user, _ = client_uids
    os.chmod(sshd.known_hosts, 0o644)
    base = Path(tempfile.mkdtemp(prefix="openras-files-"))
    os.chmod(base, 0o755)
    locked = base / "locked"  # root's: the user may not search it
    locked.mkdir(mode=0o700)
    inner = locked / "inner"
    inner.mkdir(mode=0o755)
    reachable = base / "open"
    reachable.mkdir(mode=0o755)
    for directory in (inner, reachable, base):
        shutil.copy(sshd.known_hosts, directory / "known_hosts")
        os.chmod(directory / "known_hosts", 0o644)
    (base / "link").symlink_to(inner)
    # The daemon's working directory holds a known_hosts a relative path must never find.
    daemon = Daemon('[daemon]\nallow_users = "*"\n', wrap=("env", "-C", str(base)))
    try:
        daemon.start()

        def dial(known_hosts: str) -> tuple[int, str]:
            with daemon.client() as c:
                if not _exists(c, "files"):
                    ssh_entry(daemon, sshd, "files")
                props = {"SshKnownHosts": known_hosts}
                c.call("PATCH", "/v1/entries/files", json={"properties": props})
            code = DIAL_DETAIL.format(entry="files", user=sshd.user, password=sshd.password)
            rc, detail = daemon.python_json(code, uid=user)
            return rc, detail.replace(known_hosts, "PATH")

        assert dial(str(reachable / "known_hosts"))[0] == 0
        # Through a symlinked directory into one the user cannot search: not for this user.
        via_link = dial(str(base / "link" / "known_hosts"))
        # (864: no known-hosts file this user can read; the same for missing and forbidden.)
        assert via_link[0] == 864, (via_link, daemon.log()[-3000:])
        # Missing and forbidden answer the same.
        missing = dial(str(locked / "nothing"))
        forbidden = dial(str(inner / "known_hosts"))
        assert missing[0] == forbidden[0] == 864 and missing[1] == forbidden[1]
        # A relative path is the user's (this uid has no home), never the daemon's directory.
        rc, detail = dial("known_hosts")
        assert rc == 864 and "home" in detail
    finally:
        daemon.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def _exists(client: Any, name: str) -> bool:
    from openras.client import ApiError

    try:
        client.call("GET", f"/v1/entries/{name}")
    except ApiError:
        return False
    return True


def test_a_time_wait_entry_of_the_same_addresses_never_names_the_peer(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """Loopback ports still in TIME_WAIT are reused (tcp_tw_reuse=2): /proc/net/tcp then lists
    the old connection, with uid 0, beside the new one. Only the live one names the peer."""
    from openras.ras.devices import socks_guard

    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    client, listener = "0100007F:C350", "0100007F:1F90"  # 127.0.0.1:50000 → 127.0.0.1:8080
    time_wait = f"   0: {client} {listener} 06 00000000:00000000 03:00000F0C 00000000     0 0 0\n"
    live = f"   1: {client} {listener} 01 00000000:00000000 00:00000000 00000000 65534 0 1\n"
    table = tmp_path / "tcp"
    monkeypatch.setattr(socks_guard, "TCP_TABLES", (str(table),))
    peer, local = ("127.0.0.1", 50000), ("127.0.0.1", 8080)
    table.write_text(header + time_wait + live)
    assert socks_guard.loopback_peer_uid(peer, local) == NOBODY
    table.write_text(header + time_wait)  # the new connection not listed: nobody is admitted
    assert socks_guard.loopback_peer_uid(peer, local) is None
