"""The dashboard's access pieces on their own: one-time tokens, sessions, and the owner of the
browser's loopback socket (read from the kernel's table, as a real client makes it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

from peers.users import popen_as

from openras.daemon.dashboard.sessions import (
    MAX_SESSIONS_PER_UID,
    MAX_TOKENS_PER_UID,
    Grant,
    SessionBook,
)
from openras.daemon.dashboard.tcp_owner import owner_uid


def test_a_token_opens_one_session_for_its_user() -> None:
    book = SessionBook()
    token = book.issue(Grant(1000, 1000))
    assert book.peek(token) == Grant(1000, 1000)
    session = book.redeem(token)
    assert session is not None and session.grant.uid == 1000
    assert book.redeem(token) is None and book.peek(token) is None  # once
    assert book.get(session.sid) is session
    assert session.csrf_matches(session.csrf) and not session.csrf_matches("")
    assert session.csrf != session.sid
    book.end(session.sid)
    assert book.get(session.sid) is None


def test_tokens_and_sessions_expire() -> None:
    book = SessionBook(token_ttl=0.05, session_idle=0.05)
    token = book.issue(Grant(1, 1))
    session = book.redeem(book.issue(Grant(1, 1)))
    assert session is not None
    time.sleep(0.1)
    assert book.redeem(token) is None
    assert book.get(session.sid) is None


def test_one_user_cannot_evict_another_users_tokens_or_sessions() -> None:
    book = SessionBook()
    theirs = book.issue(Grant(2, 2))
    their_session = book.redeem(book.issue(Grant(2, 2)))
    assert their_session is not None
    mine = [book.issue(Grant(1, 1)) for _ in range(MAX_TOKENS_PER_UID + 3)]
    assert book.peek(mine[0]) is None and book.peek(mine[-1]) == Grant(1, 1)
    kept = [t for t in mine if book.peek(t) is not None]
    assert len(kept) == MAX_TOKENS_PER_UID
    for _ in range(MAX_SESSIONS_PER_UID + 3):
        assert book.redeem(book.issue(Grant(1, 1))) is not None
    assert book.peek(theirs) == Grant(2, 2)
    assert book.get(their_session.sid) is their_session


def test_owner_of_a_loopback_connection_is_the_connecting_uid(client_uids: tuple[int, int]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = server.getsockname()
        with socket.create_connection(address) as mine:
            accepted, peer = server.accept()
            with accepted:
                assert owner_uid(peer, address) == os.geteuid()
                assert owner_uid(mine.getsockname(), ("127.0.0.1", 1)) is None
        uid = client_uids[0]
        code = (
            "import socket, sys\n"
            f"s = socket.create_connection(('127.0.0.1', {address[1]}))\n"
            "sys.stdout.write('x'); sys.stdout.flush(); sys.stdin.read()\n"
        )
        child = popen_as(
            uid, uid, [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert child.stdout is not None and child.stdout.read(1) == b"x"
            accepted, peer = server.accept()
            with accepted:
                assert owner_uid(peer, address) == uid
        finally:
            child.kill()
            child.wait(10)


def test_openras_dashboard_prints_a_one_time_url(daemon: Any) -> None:
    result = daemon.cli("dashboard", "--no-browser")
    assert result.returncode == 0, result.stderr
    url = result.stdout.split()[2]
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url
    # The site answers on that port; the token is not the session (it is traded for one).
    with urllib.request.urlopen(url.split("?")[0] + "static/VENDORED.md") as page:
        assert b"uPlot" in page.read()


def test_a_disabled_dashboard_says_not_supported(daemon_factory: Any) -> None:
    daemon = daemon_factory("[dashboard]\nenabled = false\n")
    result = daemon.cli("dashboard", "--json")
    assert result.returncode == 50 and json.loads(result.stdout)["error"] == 50
