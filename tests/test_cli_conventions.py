"""Issue 14, items 3–6: help and conventions, errors that say why, write-time validation,
the credentials view, hang-up of a shared link. Every command runs as a separate process
against a real daemon (and a real sshd where a link is needed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from harness import PYTHON
from ras_helpers import ssh_entry, wait_for

from openras.cli.main import build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def _offline(tmp_path: Path) -> dict[str, str]:
    """An environment where any attempt to reach a daemon fails loudly (711)."""
    env = {**os.environ, "OPENRAS_HOME": str(tmp_path), "OPENRAS_NO_AUTOSTART": "1"}
    import openras

    env["PYTHONPATH"] = str(Path(openras.__file__).resolve().parents[1])
    return env


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd="/")


@pytest.mark.parametrize("command", _subcommands())
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_every_command(tmp_path: Path, command: str, flag: str) -> None:
    # No daemon is needed (and none is asked: OPENRAS_NO_AUTOSTART would make that 711).
    r = _run([PYTHON, "-m", "openras", command, flag], _offline(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout and "Traceback" not in r.stderr
    if command == "entry":
        # The keys each device reads are in the entry help.
        assert "ssh: SshKnownHosts, SshKey, SocksPort" in r.stdout
        assert "OpenVpnConfig" in r.stdout and "ModemInit" in r.stdout
    if command == "net":
        assert "/PERSISTENT" in r.stdout and "NET USE" in r.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["openras", "--help"],
        ["openras", "daemon", "stop", "--help"],
        ["openras", "net", "use", "/?"],
        ["openras", "net", "use", "--help"],
        ["openras", "net", "trust", "--help"],
        ["rasdial", "--help"],
        ["rasdial", "-h"],
        ["rasdial", "/?"],
        ["rasdial", "lab", "--help"],
    ],
)
def test_help_never_acts(tmp_path: Path, argv: list[str]) -> None:
    """``rasdial --help`` prints help; it does not dial an entry named --help."""
    module = "openras.cli.rasdial" if argv[0] == "rasdial" else "openras"
    r = _run([PYTHON, "-m", module, *argv[1:]], _offline(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout.lower()
    assert "711" not in r.stderr and "Traceback" not in r.stderr
    if argv[0] == "rasdial":
        assert "/PHONEBOOK:file" in r.stdout and "exit status" in r.stdout


def test_unknown_dash_option_is_not_an_entry_name(tmp_path: Path) -> None:
    r = _run([PYTHON, "-m", "openras.cli.rasdial", "--user", "x"], _offline(tmp_path))
    assert r.returncode == 87 and "unknown option --user" in r.stderr


@pytest.mark.parametrize(
    "argv,expect",
    [
        (["-m", "openras", "--version"], "openras (openras) "),
        (["-m", "openras.cli.rasdial", "--version"], "rasdial (openras) "),
        (["-m", "openras", "net", "use", "--version"], "openras net (openras) "),
    ],
)
def test_version(tmp_path: Path, argv: list[str], expect: str) -> None:
    from openras import __version__

    r = _run([PYTHON, *argv], _offline(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == expect + __version__


def test_man_pages_and_completion(tmp_path: Path) -> None:
    env = _offline(tmp_path)
    out = tmp_path / "man"
    r = _run([PYTHON, "-m", "openras", "man", "--directory", str(out)], env)
    assert r.returncode == 0, r.stderr
    pages = {p.name: p.read_text() for p in out.iterdir()}
    assert set(pages) == {"openras.1", "rasdial.1", "openras-net.1"}
    assert pages["openras.1"].startswith(".TH OPENRAS ")
    for command in _subcommands():
        # roff writes a hyphen as "\\-" (install-service).
        roff = command.replace("-", "\\-")
        assert f"\\fI\\,{roff}\\/\\fR" in pages["openras.1"], command
    assert "PHONEBOOK" in pages["rasdial.1"] and "PERSISTENT" in pages["openras-net.1"]
    for program in ("openras", "rasdial"):
        script = _run(
            [PYTHON, "-m", "openras", "completion", "bash", "--program", program], env
        ).stdout
        assert "complete" in script
        check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr
    script = _run([PYTHON, "-m", "openras", "completion", "bash"], env).stdout
    for word in ("hangup", "credentials", "monitor", "--all"):
        assert word in script


# -- every error says why, without a traceback ---------------------------------------------


@pytest.mark.parametrize(
    "argv,code,why",
    [
        (["openras", "status", "lab"], 6, "no connection to lab"),
        (["openras", "status", "42"], 6, ""),
        (["openras", "hangup", "lab"], 6, "no connection to lab"),
        (["openras", "entry", "show", "nosuch"], 623, "nosuch"),
        (["openras", "phonebook", "import", "/nonexistent/x.pbk"], 621, "/nonexistent/x.pbk"),
        (["openras", "dial", "x", "--phonebook", "/nonexistent/x.pbk"], 621, "no such file"),
        (["rasdial", "x", "/PHONEBOOK:/nonexistent/x.pbk"], 621, "no such file"),
        (["rasdial", "nosuch"], 623, "nosuch"),
        (["openras", "dial", "nosuch"], 623, "nosuch"),
        (["openras", "credentials", "nosuch"], 623, "nosuch"),
    ],
)
def test_ordinary_mistakes_say_why(daemon: Any, argv: list[str], code: int, why: str) -> None:
    if argv[0] == "rasdial":
        r = daemon.rasdial(*argv[1:])
    else:
        r = daemon.cli(*argv[1:])
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == code % 256, r.stderr
    assert f"Remote Access error {code} - " in r.stderr
    assert why in r.stderr


def test_net_use_prints_the_detail_line(daemon: Any) -> None:
    r = daemon.cli("net", "use", "Q:", "sftp://nobody@127.0.0.1:1/x")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert re.search(r"System error \d+ has occurred\.", r.stderr)
    # The line that says why, after the code's text (here: the known-hosts file is missing).
    assert "  (" in r.stderr and "known" in r.stderr


def test_usage_mistakes_are_one_line(daemon: Any) -> None:
    r = daemon.cli("entry", "show")
    assert r.returncode == 1 and "give the entry NAME" in r.stderr
    assert "Traceback" not in r.stderr
    r = daemon.cli("entry", "create", "x", "novalue")
    assert r.returncode == 1 and "expected KEY=VALUE" in r.stderr


def test_no_daemon_no_traceback(tmp_path: Path) -> None:
    r = _run([PYTHON, "-m", "openras", "daemon", "stop"], _offline(tmp_path))
    assert r.returncode == 711 % 256 and "Traceback" not in r.stderr
    assert "no daemon answers" in r.stderr


def test_refusals_before_a_handle_are_logged(daemon: Any) -> None:
    """623 / 625 / 633 refused before any handle exists still reach the event log and the
    daemon's own log."""
    with daemon.client() as c:
        c.call(
            "POST",
            "/v1/entries",
            json={"name": "pptp", "lines": [["Type", "2"], ["VpnStrategy", "1"]]},
        )
    for entry, code in (("nosuch", 623), ("pptp", 633)):
        r = daemon.rasdial(entry)
        assert r.returncode == code % 256, r.stderr
    # 625: an entry whose number is not a number, refused before a device is made.
    corrupt = daemon.home / "corrupt.pbk"
    corrupt.write_text("[bad]\r\nDEVICE=ssh\r\nPhoneNumber=h\r\nRedialAttempts=many\r\n")
    r = daemon.rasdial("bad", f"/PHONEBOOK:{corrupt}")
    refused_625 = r.returncode == 625 % 256
    with daemon.client() as c:
        events = c.call("GET", "/v1/events/log", params={"since": 0})
    refused = [e for e in events if e["kind"] == "refused"]
    assert {(e["entry"], e["error"]) for e in refused} >= {("nosuch", 623), ("pptp", 633)}
    if refused_625:
        assert ("bad", 625) in {(e["entry"], e["error"]) for e in refused}
    # The log is written by a thread of the daemon's: the lines come a moment later.
    wait_for(lambda: "dial refused" in (log := daemon.log()) and "nosuch" in log and "633" in log)


# -- validation when an entry is written ---------------------------------------------------


def test_near_miss_keys_and_undialable_entries_are_reported(daemon: Any, tmp_path: Path) -> None:
    r = daemon.cli("entry", "create", "lab", "DEVICE=ssh", "PhoneNumber=h", "sshknownhosts=/x")
    assert r.returncode == 0
    assert "sshknownhosts is not a key openras reads; did you mean SshKnownHosts?" in r.stderr
    r = daemon.cli("entry", "set", "lab", "SshKeepAliveSecond=5")
    assert "did you mean SshKeepAliveSeconds?" in r.stderr
    r = daemon.cli("entry", "create", "isdn", "DEVICE=isdn")
    assert "DEVICE=isdn: no device can dial this entry" in r.stderr
    assert "supported: DEVICE=ssh, tcp, serial, modem, or vpn" in r.stderr
    r = daemon.cli("entry", "create", "l2tp", "Type=2", "VpnStrategy=3", "--json")
    body = json.loads(r.stdout)
    assert any("cannot dial PPTP/L2TP/SSTP" in w for w in body["warnings"])
    # A key openras reads, spelt right, and unknown Windows keys far from any: no warning.
    r = daemon.cli("entry", "create", "ok", "DEVICE=ssh", "PhoneNumber=h", "Encoding=1")
    assert r.returncode == 0 and "Warning" not in r.stderr
    pbk = tmp_path / "rasphone.pbk"
    pbk.write_text("[imp]\r\nDEVICE=ssh\r\nPhonenumber=h\r\n[bad]\r\nDEVICE=x25\r\n")
    r = daemon.cli("phonebook", "import", str(pbk))
    assert r.returncode == 0
    assert "imp: Phonenumber is not a key openras reads; did you mean PhoneNumber?" in r.stderr
    assert "bad: DEVICE=x25: no device can dial this entry" in r.stderr
    exported = json.loads(daemon.cli("phonebook", "export", "--json").stdout)["text"]
    assert "[imp]\r\nDEVICE=ssh\r\nPhonenumber=h\r\n" in exported
    r = daemon.cli("phonebook", "export", "/nonexistent/dir/out.pbk")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "/nonexistent/dir/out.pbk: No such file or directory" in r.stderr


# -- credentials ----------------------------------------------------------------------------


def test_credentials_view_never_erases(daemon: Any) -> None:
    daemon.cli("entry", "create", "lab", "DEVICE=ssh", "PhoneNumber=h")
    r = daemon.cli("credentials", "lab")
    assert r.returncode == 0 and "User      (none)" in r.stdout and "not saved" in r.stdout
    r = daemon.run(
        [PYTHON, "-m", "openras", "credentials", "lab", "--user", "bob", "--password-stdin"],
        input="s3cret-pw\n",
    )
    assert r.returncode == 0 and "s3cret-pw" not in r.stdout
    # No option: shown, not erased (the old CLI saved an empty user here).
    for _ in range(2):
        r = daemon.cli("credentials", "lab")
        assert "User      bob" in r.stdout and "Password  saved" in r.stdout
        assert "s3cret-pw" not in r.stdout
    # Changing only the domain keeps the user and the password.
    r = daemon.cli("credentials", "lab", "--domain", "CORP", "--json")
    assert json.loads(r.stdout) == {"user": "bob", "domain": "CORP", "have_password": True}
    r = daemon.cli("credentials", "lab", "--remove-password", "--json")
    assert json.loads(r.stdout)["have_password"] is False


# -- a shared link: references, --all, the SOCKS port printed after the dial ---------------


def test_hangup_of_a_shared_link(daemon: Any, sshd: Any, http_server: Any) -> None:
    ssh_entry(daemon, sshd)
    daemon.cli("credentials", "lab", "--user", sshd.user, "--password", sshd.password)
    first = daemon.cli("dial", "lab")
    assert first.returncode == 0, first.stderr
    m = re.search(r"Connected: SOCKS5 proxy on 127\.0\.0\.1:(\d+)\.", first.stdout)
    assert m, first.stdout
    port = int(m.group(1))
    # rasdial prints it too, between "Successfully connected" and the closing line.
    r = daemon.rasdial("lab")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[-3:] == [
        "Successfully connected to lab.",
        f"Connected: SOCKS5 proxy on 127.0.0.1:{port}.",
        "Command completed successfully.",
    ]
    curl = subprocess.run(
        [
            "curl",
            "-s",
            "--max-time",
            "10",
            "--socks5-hostname",
            f"127.0.0.1:{port}",
            http_server.url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert curl.stdout == http_server.token
    daemon.cli("dial", "lab")  # a third reference
    status = json.loads(daemon.cli("status", "lab", "--json").stdout)
    assert status["refs"] == 3 and status["device"]["socks_port"] == port
    r = daemon.cli("hangup", "lab")
    assert r.returncode == 0
    assert "2 remain, so the link stays up (openras hangup --all lab" in r.stdout
    r = daemon.cli("hangup", "--all", "lab", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["refs"] == 0
    assert json.loads(r.stdout)["released"] == 2
    r = daemon.cli("status")
    # Which daemon answers comes first (this test's daemon has its own OPENRAS_HOME).
    assert r.stdout.startswith(f"Daemon: per-user daemon at {daemon.socket} (pid ")
    assert "No connections" in r.stdout


def test_service_account_without_a_home_gets_a_clear_message(client_uids: Any) -> None:
    """No system daemon, no home, no runtime directory: a message, not a traceback."""
    from openras.paths import system_daemon_answers

    if system_daemon_answers():
        pytest.skip("a system daemon runs on this machine: the client would use it")
    import openras

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "USER": "svc",
        "LOGNAME": "svc",
        "PYTHONPATH": str(Path(openras.__file__).resolve().parents[1]),
    }
    runtime = Path(f"/tmp/runtime-{client_uids[1]}")  # platformdirs' fallback
    existed = runtime.exists()
    r = subprocess.run(
        [PYTHON, "-m", "openras", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        user=client_uids[1],
        group=client_uids[1],
        extra_groups=[],
    )
    assert r.returncode == 711 % 256 and "Traceback" not in r.stderr, r.stderr
    assert "no system daemon answers at /run/openras/openras.sock" in r.stderr
    assert "set OPENRAS_HOME to a directory this user may write" in r.stderr
    if not existed:
        shutil.rmtree(runtime, ignore_errors=True)


def test_entry_keys_json(tmp_path: Path) -> None:
    r = _run([PYTHON, "-m", "openras", "entry", "keys", "--json"], _offline(tmp_path))
    keys = json.loads(r.stdout)
    assert "SshKnownHosts" in keys["ssh"] and "OpenVpnConfig" in keys["openvpn"]


def test_sftp_host_key_trust_through_net(daemon_factory: Any, sshd: Any, tmp_path: Path) -> None:
    """The SFTP side: no known-hosts file, then an untrusted key, each says why and how to
    trust it; ``openras net trust`` adds the key; the mapping then works."""
    known = tmp_path / "kh"
    d = daemon_factory(f'[mpr.sftp]\nknown_hosts = "{known}"\n')
    remote = f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{sshd.home}"
    r = d.cli("net", "use", remote, sshd.password)
    assert r.returncode == 2 and "System error 1208 has occurred." in r.stderr
    assert f"no known-hosts file {known}" in r.stderr
    assert f"openras net trust {remote}" in r.stderr
    known.write_text(sshd.wrong_known_hosts.read_text())
    r = d.cli("net", "use", remote, sshd.password)
    assert r.returncode == 2 and "is not trusted by" in r.stderr
    fingerprint = asyncssh.import_public_key(sshd.host_key_line).get_fingerprint("sha256")
    assert f"the server offers ssh-ed25519 key {fingerprint}" in r.stderr
    # A wrong fingerprint is refused; the right one is added.
    r = d.cli("net", "trust", remote, "--known-hosts", str(known), "--fingerprint", "SHA256:x")
    assert r.returncode == 2 and "System error 857 has occurred." in r.stderr
    assert f"the server offers {fingerprint}, not SHA256:x" in r.stderr
    r = d.cli("net", "trust", remote, "--known-hosts", str(known), "--fingerprint", fingerprint)
    assert r.returncode == 0 and f"Added to {known}." in r.stdout, r.stderr
    r = d.cli("net", "use", remote, sshd.password, "--json")
    assert r.returncode == 0, r.stderr
    r = d.cli("net", "use", remote, "/DELETE")
    assert r.returncode == 0
