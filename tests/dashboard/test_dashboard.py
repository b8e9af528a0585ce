"""The dashboard in a real headless chromium, against a real daemon and a real sshd.

Each test saves screenshots of the states it reaches under its temporary directory
(``<tmp_path>/screenshots``, kept as CI artifacts).
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ras_helpers import SSH_STATES, ssh_entry, status_or_none, wait_for

from openras.codes import RASCS, error_string

ROW = ".entry-row[data-entry='lab']"
CONN = ".conn[data-entry='lab']"

# Records, each time the page redraws the phonebook, which steps of the entry's dial are done.
WATCH_STEPS = """(sel) => {
  window.__steps = [];
  const snap = () => {
    const row = document.querySelector(sel);
    const done = row ? [...row.querySelectorAll('.step.done')].map(e => e.dataset.state) : [];
    const last = window.__steps[window.__steps.length - 1];
    if (JSON.stringify(done) !== JSON.stringify(last)) window.__steps.push(done);
  };
  new MutationObserver(snap).observe(document.querySelector('#entries'),
                                     {childList: true, subtree: true});
}"""
# Records every text the state badge of one connection shows.
WATCH_BADGE = """(handle) => {
  window.__badges = [];
  new MutationObserver(() => {
    const el = document.querySelector(`.conn[data-handle="${handle}"] .state`);
    if (el && window.__badges[window.__badges.length - 1] !== el.textContent)
      window.__badges.push(el.textContent);
  }).observe(document.querySelector('#connections'), {childList: true, subtree: true});
}"""


def copy_for_readme(shot: Path) -> None:
    """The README's screenshot, refreshed by a run with OPENRAS_DOCS_SCREENSHOT=1."""
    if os.environ.get("OPENRAS_DOCS_SCREENSHOT") == "1":
        docs = Path(__file__).resolve().parents[2] / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs / "dashboard.png")


def dial_from_page(page: Any, user: str, password: str) -> None:
    page.wait_for_selector(f"{ROW} button.dial")
    page.click(f"{ROW} button.dial")
    page.fill("#dial-form input[name=user]", user)
    page.fill("#dial-form input[name=password]", password)
    page.click("#dial-form button[type=submit]")


def cli_dial(daemon: Any, sshd: Any, uid: int | None = None) -> int:
    result = daemon.cli(
        "dial", "lab", "--json", "--user", sshd.user, "--password", sshd.password, uid=uid
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return int(json.loads(result.stdout.splitlines()[-1])["handle"])


def test_dial_from_the_dashboard_fills_the_steps_then_hang_up_removes_the_row(
    daemon: Any, sshd: Any, open_dashboard: Any
) -> None:
    ssh_entry(daemon, sshd)
    dash = open_dashboard(daemon)
    page = dash.page
    page.wait_for_selector(ROW)
    page.evaluate(WATCH_STEPS, f"{ROW} .last-dial")
    dial_from_page(page, sshd.user, sshd.password)

    page.wait_for_selector(f"{CONN} .state[data-phase='connected']", timeout=30_000)
    page.wait_for_selector(f"{ROW} .step.done[data-state='Connected']")
    seen = page.evaluate("window.__steps")
    # The row filled in step by step, in order, up to Connected.
    assert seen[-1] == SSH_STATES
    assert len(seen) >= 3, seen
    for before, after in itertools.pairwise(seen):
        assert after[: len(before)] == before, seen
    handle = int(page.get_attribute(CONN, "data-handle"))
    record = status_or_none(daemon, handle)
    assert record is not None and record["state"] == RASCS.Connected and record["owner_uid"] == 0
    assert page.inner_text(f"{CONN} .state") == "Connected"
    # The addresses come from the handle's status, read after the Connected event.
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent.includes(text)",
        arg=[f"{CONN} .addresses", f"127.0.0.1:{record['device']['socks_port']}"],
    )
    assert page.inner_text(f"{CONN} .device").startswith("ssh")
    # The password went in one request and is nowhere in the page now.
    assert page.input_value("#dial-form input[name=password]") == ""
    assert sshd.password not in page.content()
    copy_for_readme(dash.shot("connected"))

    page.evaluate(WATCH_BADGE, handle)
    # The entry's own hang-up button (the card has one too).
    page.click(f"{ROW} button.hangup[data-handle='{handle}']")
    page.wait_for_selector(f".conn[data-handle='{handle}']", state="detached", timeout=30_000)
    assert status_or_none(daemon, handle) is None  # the row went when the handle was gone
    assert "Hanging up…" in page.evaluate("window.__badges")
    page.wait_for_selector(f"#log .ev-released[data-handle='{handle}']")
    assert page.query_selector(f"{ROW} button.hangup") is None
    dash.shot("hung-up")


def test_wrong_password_shows_the_failing_step_with_691_and_its_message(
    daemon_factory: Any, sshd: Any, open_dashboard: Any
) -> None:
    # The page holds no process: a failed handle it dialed is released after the grace period
    # (a few seconds here, long enough to look at the card first).
    daemon = daemon_factory("[daemon]\nfailed_handle_grace = 6\n")
    ssh_entry(daemon, sshd)
    dash = open_dashboard(daemon)
    page = dash.page
    dial_from_page(page, sshd.user, "wrong-password")

    card = f"{CONN} .failure[data-error='691']"
    page.wait_for_selector(card, timeout=30_000)
    handle = int(page.get_attribute(CONN, "data-handle"))
    assert page.get_attribute(f"{CONN} .step.failed", "data-state") == "Authenticate"
    failure = f"{ROW} .failure[data-error='691']"
    page.wait_for_selector(failure)
    assert page.get_attribute(f"{ROW} .step.failed", "data-state") == "Authenticate"
    text = page.inner_text(failure)
    assert "691" in text and "ERROR_AUTHENTICATION_FAILURE" in text
    assert error_string(691, "en") in text
    assert int(page.get_attribute(f"{ROW} .steps", "data-handle")) == handle
    dash.shot("failed-691")
    # The entry keeps showing where its last dial failed after the handle is gone.
    page.wait_for_selector(f".conn[data-handle='{handle}']", state="detached", timeout=30_000)
    assert status_or_none(daemon, handle) is None
    assert error_string(691, "en") in page.inner_text(failure)


def test_the_page_speaks_the_browsers_language(daemon: Any, sshd: Any, open_dashboard: Any) -> None:
    if importlib.util.find_spec("openras.i18n") is None:
        pytest.skip("no message catalogs in this openras (the operations issue adds them)")
    german = error_string(691, "de")
    assert german != error_string(691, "en")
    ssh_entry(daemon, sshd)
    dash = open_dashboard(daemon, locale="de-DE")
    page = dash.page
    assert page.evaluate("document.documentElement.lang").startswith("de")
    dial_from_page(page, sshd.user, "wrong-password")
    failure = f"{ROW} .failure[data-error='691'] .message"
    page.wait_for_function(
        "sel => document.querySelector(sel)?.textContent.length > 0", arg=failure, timeout=30_000
    )
    assert page.inner_text(failure) == german
    # The page's own words come from the same catalogs (English where one lacks them).
    from openras import i18n  # type: ignore[attr-defined]

    words = i18n.translations(("de",))
    assert page.inner_text("h2[data-t=connections]") == words.gettext("Connections")
    # Machine fields stay as they are.
    assert page.get_attribute(f"{ROW} .step.failed", "data-state") == "Authenticate"
    dash.shot("german")


def test_cli_dial_appears_and_a_server_drop_goes_disconnected_without_reload(
    daemon_factory: Any, sshd: Any, open_dashboard: Any
) -> None:
    # A long grace: the lost link stays listed (its dialer has exited) while the test looks.
    daemon = daemon_factory("[daemon]\nfailed_handle_grace = 120\n")
    ssh_entry(daemon, sshd)
    dash = open_dashboard(daemon)
    page = dash.page
    page.evaluate("window.__same_page = true")

    handle = cli_dial(daemon, sshd)
    conn = f".conn[data-handle='{handle}']"
    page.wait_for_selector(f"{conn} .state[data-phase='connected']", timeout=30_000)
    assert page.inner_text(f"{conn} .entry") == "lab"
    dash.shot("cli-dial")

    sshd.kill_sessions()
    page.wait_for_selector(f"{conn} .state[data-phase='failed']", timeout=30_000)
    assert page.inner_text(f"{conn} .state") == "Disconnected"
    code = int(page.get_attribute(f"{conn} .failure", "data-error"))
    assert code == status_or_none(daemon, handle)["error"] and code in (629, 829)
    page.wait_for_function(
        "sel => document.querySelector(sel)?.textContent.length > 0",
        arg=f"{conn} .failure .message",
    )
    assert error_string(code, "en") in page.inner_text(f"{conn} .failure")
    assert page.evaluate("window.__same_page") is True  # never reloaded
    dash.shot("server-drop")
    # The event log: the live tail has the drop; filters by handle and by kind.
    drop = f"#log .ev-state.ev-error[data-handle='{handle}']"
    assert "RASCS_Disconnected" in page.inner_text(drop)
    page.fill("#log-filters input[name=handle]", str(handle + 1))
    assert page.is_hidden(drop)
    page.fill("#log-filters input[name=handle]", str(handle))
    assert page.is_visible(drop)
    page.uncheck("#kinds input[value=state]")
    assert page.is_hidden(drop) and page.is_hidden("#log .ev-daemon")
    page.check("#kinds input[value=state]")
    page.fill("#log-filters input[name=handle]", "")
    page.fill("#log-filters input[name=text]", "ERROR_REMOTE_DISCONNECTION")
    assert page.is_visible(drop) and page.is_hidden("#log .ev-entry")
    assert daemon.cli("hangup", str(handle)).returncode == 0
    page.wait_for_selector(conn, state="detached", timeout=30_000)


def test_another_users_page_shows_the_connection_without_hang_up_and_a_forged_one_gets_5(
    daemon_factory: Any, sshd: Any, open_dashboard: Any, client_uids: tuple[int, int]
) -> None:
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    owner, other = client_uids
    ssh_entry(daemon, sshd)
    handle = cli_dial(daemon, sshd, uid=owner)
    conn = f".conn[data-handle='{handle}']"

    theirs = open_dashboard(daemon, uid=other)
    theirs.page.wait_for_selector(f"{conn} .state[data-phase='connected']", timeout=30_000)
    assert theirs.page.query_selector(f"{conn} button.hangup") is None
    assert f"uid {owner}" in theirs.page.inner_text(f"{conn} .foreign")
    theirs.shot("other-user")
    theirs.expected_statuses.add(403)
    forged = theirs.csrf_fetch("DELETE", f"/api/v1/connections/{handle}")
    assert forged["status"] == 403 and forged["body"]["error"] == 5
    assert forged["body"]["name"] == "ERROR_ACCESS_DENIED"
    assert status_or_none(daemon, handle)["state"] == RASCS.Connected

    mine = open_dashboard(daemon, uid=owner)
    mine.page.wait_for_selector(f"{conn} button.hangup")
    mine.page.click(f"{conn} button.hangup")
    # Both pages see the handle go.
    mine.page.wait_for_selector(conn, state="detached", timeout=30_000)
    theirs.page.wait_for_selector(conn, state="detached", timeout=30_000)
    assert status_or_none(daemon, handle) is None


FETCH_AS = """
import json, sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2]), method=sys.argv[3])
try:
    with urllib.request.urlopen(req) as r:
        print(json.dumps({"status": r.status}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": json.loads(e.read() or b"{}")}))
"""


def fetch_as(daemon: Any, uid: int | None, url: str, headers: Any, method: str = "GET") -> Any:
    import sys

    result = daemon.run([sys.executable, "-c", FETCH_AS, url, json.dumps(headers), method], uid=uid)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_tokens_and_sessions_work_only_for_their_user_host_and_csrf(
    daemon_factory: Any, chromium: Any, client_uids: tuple[int, int]
) -> None:
    daemon = daemon_factory('[daemon]\nallow_users = "*"\n')
    owner, other = client_uids
    opened = json.loads(daemon.cli("dashboard", "--json", uid=owner).stdout)
    url, port = opened["url"], opened["port"]

    # Another user who sees the URL (a process list, a shared screen) opens nothing with it...
    stolen = fetch_as(daemon, other, url, {})
    assert stolen["status"] == 403 and stolen["body"]["error"] == 5
    # ...and does not use it up: the owner's browser (root here) still signs in with it.
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert "token" not in page.url  # traded for the cookie, gone from the address bar
        cookie = next(c for c in context.cookies() if c["name"] == f"openras_session_{port}")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""
        again = fetch_as(daemon, owner, url, {})  # a token works once
        assert again["status"] == 403
        jar = {"Cookie": f"{cookie['name']}={cookie['value']}"}
        base = f"http://127.0.0.1:{port}"
        assert fetch_as(daemon, owner, f"{base}/api/v1/connections", jar)["status"] == 200
        # The cookie carried to another user's program is refused.
        refused = fetch_as(daemon, other, f"{base}/api/v1/connections", jar)
        assert refused["status"] == 403 and refused["body"]["error"] == 5
        # DNS rebinding: a Host that is not this site.
        rebound = fetch_as(
            daemon, owner, f"{base}/api/v1/connections", {**jar, "Host": f"evil.example:{port}"}
        )
        assert rebound["status"] == 403 and rebound["body"]["detail"] == "wrong Host"
        # An action without the CSRF token, or from another origin.
        no_csrf = fetch_as(daemon, owner, f"{base}/api/v1/connections/1", jar, "DELETE")
        assert no_csrf["status"] == 403 and "CSRF" in no_csrf["body"]["detail"]
        cross = fetch_as(
            daemon,
            owner,
            f"{base}/api/v1/connections/1",
            {**jar, "Origin": "http://127.0.0.1:1"},
            "DELETE",
        )
        assert cross["status"] == 403
        # No session: nothing but the sign-in hint.
        assert fetch_as(daemon, owner, f"{base}/api/v1/connections", {})["status"] == 401
    finally:
        context.close()


def test_traffic_counter_and_graph_move_while_downloading_through_the_link(
    daemon: Any, sshd: Any, http_server: Any, open_dashboard: Any
) -> None:
    with daemon.client() as c:
        paths = c.call("GET", "/openapi.json")["paths"]
    if "/v1/connections/{handle}/statistics" not in paths:
        pytest.skip("this daemon has no connection statistics yet (issue 9 adds them)")
    ssh_entry(daemon, sshd)
    dash = open_dashboard(daemon)
    page = dash.page
    handle = cli_dial(daemon, sshd)
    conn = f".conn[data-handle='{handle}']"
    page.wait_for_selector(f"{conn} .traffic .rx[data-bytes]", timeout=30_000)
    before = int(page.get_attribute(f"{conn} .traffic .rx", "data-bytes"))
    url, digest = http_server.add_file("big.bin", 8)
    port = status_or_none(daemon, handle)["device"]["socks_port"]
    body = subprocess.run(
        ["curl", "-s", "--max-time", "60", "--socks5", f"127.0.0.1:{port}", url],
        capture_output=True,
        timeout=90,
    ).stdout
    assert hashlib.sha256(body).hexdigest() == digest
    page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel)?.dataset.bytes) >= n",
        arg=[f"{conn} .traffic .rx", before + 8 * 2**20],
        timeout=20_000,
    )
    # The graph plots one rate a second (a few seconds of it).
    page.wait_for_selector(f"{conn} .graph canvas")
    page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.points) >= 4",
        arg=f"{conn} .graph",
        timeout=20_000,
    )
    copy_for_readme(dash.shot("traffic"))
    wait_for(lambda: daemon.cli("hangup", str(handle)).returncode == 0)


def test_session_route_is_only_on_the_unix_socket(daemon: Any) -> None:
    with daemon.client() as c:
        opened = c.call("POST", "/v1/dashboard/sessions")
    assert opened["url"].startswith(f"http://127.0.0.1:{opened['port']}/?token=")
    req = urllib.request.Request(
        f"http://127.0.0.1:{opened['port']}/api/v1/dashboard/sessions", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 401  # no session; and the route is not served there at all


def test_map_and_disconnect_a_network_resource_from_the_page(
    daemon_factory: Any, sshd: Any, open_dashboard: Any
) -> None:
    daemon = daemon_factory(f'[mpr.sftp]\nknown_hosts = "{sshd.known_hosts}"\n')
    dash = open_dashboard(daemon)
    page = dash.page
    remote = f"sftp://{sshd.user}@{sshd.host}:{sshd.port}/~"
    dash.expected_statuses.add(409)  # the wrong password's refusal (1326)
    page.click("#map summary")
    page.fill("#map-form input[name=remote]", remote)
    page.fill("#map-form input[name=password]", "wrong")
    page.click("#map-form button[type=submit]")
    refused = page.wait_for_selector("#map-form .form-error:not([hidden])", timeout=30_000)
    assert "1326" in refused.inner_text()  # ERROR_LOGON_FAILURE, as net use reports it

    page.fill("#map-form input[name=password]", sshd.password)
    page.click("#map-form button[type=submit]")
    row = f"#drives tr[data-remote='{remote}']"
    page.wait_for_selector(f"{row} .badge.status-ok", timeout=30_000)
    assert page.inner_text(f"{row} td:nth-child(3)") == "openras SFTP"
    assert page.input_value("#map-form input[name=password]") == ""
    assert sshd.password not in page.content()
    with daemon.client() as c:
        listed = c.call("GET", "/v1/net/connections")["connections"]
    assert [(m["remote_name"], m["status"]) for m in listed] == [(remote, "OK")]
    dash.shot("network-resource")

    page.click(f"{row} button.danger")
    page.wait_for_selector(row, state="detached", timeout=30_000)
    with daemon.client() as c:
        assert c.call("GET", "/v1/net/connections")["connections"] == []
