"""The real-peer fixtures themselves, checked against the real programs."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

import asyncssh
import pytest
from peers.http import HttpServer
from peers.procs import alive
from peers.sshd import Sshd
from peers.users import CLIENT_UIDS, run_as


def connect(sshd: Sshd, **kwargs: object) -> asyncssh.SSHClientConnection:
    options: dict[str, object] = {"username": sshd.user, "known_hosts": str(sshd.known_hosts),
                                  "client_keys": None, "agent_path": None}
    options.update(kwargs)
    return asyncssh.connect(sshd.host, sshd.port, **options)  # type: ignore[return-value, arg-type]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_password_login_runs_as_the_namespace_only_user(sshd: Sshd) -> None:
    async with connect(sshd, password=sshd.password) as conn:
        result = await conn.run("id -u; echo $HOME", check=True)
    assert result.stdout == f"{sshd.uid}\n{sshd.home}\n"
    # The user exists only inside sshd's mount namespace, never in the real /etc.
    assert sshd.user not in await asyncio.to_thread(Path("/etc/passwd").read_text)


async def test_wrong_password_is_permission_denied(sshd: Sshd) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(sshd, password="not-" + sshd.password)


async def test_key_login_and_sftp_write_to_home(sshd: Sshd) -> None:
    async with connect(sshd, client_keys=[str(sshd.client_key)]) as conn, conn.start_sftp_client() as sftp:
        async with sftp.open("probe.txt", "w") as f:
            await f.write("written over sftp")
    stored = sshd.home / "probe.txt"
    assert stored.read_text() == "written over sftp"
    assert stored.stat().st_uid == sshd.uid
    assert os.stat(sshd.client_key).st_mode & 0o777 == 0o600


async def test_wrong_known_hosts_fails_host_key_validation(sshd: Sshd) -> None:
    assert sshd.wrong_known_hosts.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    assert sshd.wrong_known_hosts.read_text() != sshd.known_hosts.read_text()
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(sshd, password=sshd.password, known_hosts=str(sshd.wrong_known_hosts))


async def test_kill_sessions_closes_an_open_connection(sshd: Sshd) -> None:
    async with connect(sshd, password=sshd.password) as conn:
        assert sshd.session_pids(), "a logged-in connection has per-session sshd processes"
        killed = sshd.kill_sessions()
        assert killed and not any(alive(p) for p in killed)
        await asyncio.wait_for(conn.wait_closed(), 10)
        assert sshd.session_pids() == []
    # The listener survives: new logins still work.
    async with connect(sshd, password=sshd.password) as conn:
        assert (await conn.run("true")).exit_status == 0


async def test_stopped_sessions_are_a_silent_peer_that_keepalive_detects(sshd: Sshd) -> None:
    conn = await connect(sshd, password=sshd.password, keepalive_interval=0.3, keepalive_count_max=2)
    try:
        sshd.stop_sessions()
        start = time.monotonic()
        await asyncio.wait_for(conn.wait_closed(), 10)
        assert time.monotonic() - start < 5
    finally:
        sshd.cont_sessions()
        conn.close()


async def test_many_parallel_logins(sshd: Sshd) -> None:
    conns = await asyncio.gather(*(connect(sshd, password=sshd.password) for _ in range(40)))
    try:
        assert len(conns) == 40
    finally:
        for c in conns:
            c.close()
        await asyncio.gather(*(c.wait_closed() for c in conns))


def test_stop_ends_the_listener_and_every_session() -> None:
    server = Sshd().start()
    try:
        import subprocess

        # A session held open by a real ssh client, to prove stop() reaches per-connection processes.
        client = subprocess.Popen(
            ["ssh", "-F", "/dev/null", "-i", str(server.client_key), "-p", str(server.port),
             "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "BatchMode=yes", "-N",
             f"{server.user}@{server.host}"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            while len(server.session_pids()) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            sessions, listener, port = server.session_pids(), server.pid, server.port
            assert sessions
            server.stop()
            assert not alive(listener) and not any(alive(p) for p in sessions)
            assert not port_open(port)
            assert client.wait(10) is not None  # the client saw its connection end
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    finally:
        server.cleanup()
    assert not server.dir.exists()


def test_http_server_serves_the_token_and_big_files(http_server: HttpServer) -> None:
    with urllib.request.urlopen(http_server.url, timeout=10) as r:
        assert r.read().decode() == http_server.token
    url, digest = http_server.add_file("big.bin", 2)
    import hashlib

    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
    assert len(body) == 2 << 20 and hashlib.sha256(body).hexdigest() == digest


def test_http_server_stop_is_by_pid() -> None:
    with HttpServer() as server:
        pid, port = server.pid, server.port
        assert port_open(port)
    assert not alive(pid) and not port_open(port)


def test_client_uids_run_the_venv_python(client_uids: tuple[int, int]) -> None:
    assert client_uids == CLIENT_UIDS
    for uid in client_uids:
        r = run_as(uid, uid, [sys.executable, "-c", "import os, openras; print(os.getuid(), os.getgid(), os.getgroups())"])
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(uid), str(uid), "[]"]
