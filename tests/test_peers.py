"""The real-peer fixtures themselves, checked against the real programs."""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
from peers import hdlc
from peers.http import HttpServer
from peers.procs import alive
from peers.slirp import Slirp
from peers.sshd import Sshd
from peers.users import CLIENT_UIDS, run_as


def connect(sshd: Sshd, **kwargs: object) -> asyncssh.SSHClientConnection:
    options: dict[str, object] = {
        "username": sshd.user,
        "known_hosts": str(sshd.known_hosts),
        "client_keys": None,
        "agent_path": None,
    }
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
    async with (
        connect(sshd, client_keys=[str(sshd.client_key)]) as conn,
        conn.start_sftp_client() as sftp,
    ):
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
    conn = await connect(
        sshd, password=sshd.password, keepalive_interval=0.3, keepalive_count_max=2
    )
    try:
        sshd.stop_sessions()
        await asyncio.wait_for(conn.wait_closed(), 10)
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
        # A session held open by a real ssh client, to prove stop() reaches per-connection
        # processes.
        client = subprocess.Popen(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-i",
                str(server.client_key),
                "-p",
                str(server.port),
                "-o",
                f"UserKnownHostsFile={server.known_hosts}",
                "-o",
                "BatchMode=yes",
                "-N",
                f"{server.user}@{server.host}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
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
        r = run_as(
            uid,
            uid,
            [
                sys.executable,
                "-c",
                "import os, openras; print(os.getuid(), os.getgid(), os.getgroups())",
            ],
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(uid), str(uid), "[]"]


ASYNCSSH_KEY_LOGIN = """
import asyncio, asyncssh, sys
async def main():
    async with asyncssh.connect(sys.argv[1], int(sys.argv[2]), username=sys.argv[3],
                                client_keys=[sys.argv[4]], known_hosts=sys.argv[5],
                                agent_path=None) as conn:
        print((await conn.run("id -u", check=True)).stdout.strip())
asyncio.run(main())
"""


def test_another_uid_logs_in_with_its_copy_of_the_client_key(
    sshd: Sshd, client_uids: tuple[int, int]
) -> None:
    # asyncssh, not the ssh CLI: OpenSSH's client refuses to run for a uid without a passwd entry.
    uid = client_uids[0]
    argv = [
        sys.executable,
        "-c",
        ASYNCSSH_KEY_LOGIN,
        sshd.host,
        str(sshd.port),
        sshd.user,
        str(sshd.client_key_for(uid)),
        str(sshd.known_hosts),
    ]
    r = run_as(uid, uid, argv, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sshd.uid)
    # The root-owned original stays unreadable to that uid.
    assert run_as(uid, uid, ["cat", str(sshd.client_key)]).returncode != 0


MAGIC = bytes([5, 6, 0x12, 0x34, 0x56, 0x78])  # LCP option: magic number


def lcp_exchange(
    send: Callable[[bytes], object],
    recv: Callable[[], bytes],
    auth: tuple[str, str, str] | None = None,
) -> list[tuple[int, bytes]]:
    """Send our LCP Configure-Request, ack the peer's, authenticate if asked; return every frame
    seen.

    auth is (method, user, password); the exchange ends at the peer's Configure-Ack (no
    auth) or at its PAP/CHAP verdict.
    """
    send(hdlc.encode(hdlc.LCP, hdlc.control(hdlc.CONF_REQ, 1, MAGIC)))
    handled = 0
    verdict = {"pap": (hdlc.PAP, (2, 3)), "chap": (hdlc.CHAP, (3, 4))}

    def answer(proto: int, p: bytes) -> None:
        if proto == hdlc.LCP and p[0] == hdlc.CONF_REQ:
            send(hdlc.encode(hdlc.LCP, bytes([hdlc.CONF_ACK]) + p[1:]))
            if auth and auth[0] == "pap":
                user, password = auth[1].encode(), auth[2].encode()
                send(
                    hdlc.encode(
                        hdlc.PAP,
                        hdlc.control(
                            1, 1, bytes([len(user)]) + user + bytes([len(password)]) + password
                        ),
                    )
                )
        if auth and proto == hdlc.CHAP and p[0] == 1:  # Challenge: id, value-size, value, name
            value = p[5 : 5 + p[4]]
            digest = hashlib.md5(bytes([p[1]]) + auth[2].encode() + value).digest()
            send(
                hdlc.encode(
                    hdlc.CHAP, hdlc.control(2, p[1], bytes([16]) + digest + auth[1].encode())
                )
            )

    def enough(frames: list[tuple[int, bytes]]) -> bool:
        nonlocal handled
        for proto, p in frames[handled:]:
            answer(proto, p)
        handled = len(frames)
        if auth is None:
            lcp = [p[0] for proto, p in frames if proto == hdlc.LCP]
            return hdlc.CONF_REQ in lcp and hdlc.CONF_ACK in lcp
        proto_auth, codes = verdict[auth[0]]
        return any(proto == proto_auth and p[0] in codes for proto, p in frames)

    return hdlc.read_frames(recv, hdlc.Deframer(), enough, timeout=8)


def check_lcp(frames: list[tuple[int, bytes]]) -> None:
    requests = [p for proto, p in frames if proto == hdlc.LCP and p[0] == hdlc.CONF_REQ]
    acks = [p for proto, p in frames if proto == hdlc.LCP and p[0] == hdlc.CONF_ACK]
    assert requests, f"slirp sent no Configure-Request: {frames}"
    assert acks and acks[0][1] == 1 and acks[0][4:] == MAGIC, f"slirp did not ack ours: {frames}"
    assert bytes([1, 4, 0x05, 0xDC]) in requests[0]  # its MRU 1500 (peers.md)


def test_slirp_answers_lcp_over_tcp_and_runs_only_in_its_namespace(slirp: Slirp) -> None:
    with socket.create_connection((slirp.host, slirp.port), timeout=5) as s:
        s.settimeout(0.5)
        check_lcp(lcp_exchange(s.sendall, lambda: s.recv(4096)))
        pids = slirp.netns_pids()
        assert pids, "the slirp serving this connection runs inside the test namespace"
        ns = os.readlink(f"/proc/{pids[0]}/ns/net")
        assert ns != os.readlink("/proc/self/ns/net")
        assert Path(f"/proc/{pids[0]}/exe").resolve().name == "slirp-fullbolt"
    links = subprocess.run(
        ["ip", "-n", slirp.netns, "-o", "link"], capture_output=True, text=True, check=True
    )
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]


def test_slirp_listening_inside_the_namespace(slirp_factory: Callable[..., Slirp]) -> None:
    peer = slirp_factory(listen_in_netns=True)
    assert os.readlink(f"/proc/{peer.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    with peer.netns_socket() as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", peer.port))
        s.settimeout(0.5)
        check_lcp(lcp_exchange(s.sendall, lambda: s.recv(4096)))


def test_slirp_on_a_pty(slirp_pty: Slirp) -> None:
    fd = os.open(slirp_pty.pty, os.O_RDWR | os.O_NOCTTY)
    try:

        def recv() -> bytes:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                raise TimeoutError
            return os.read(fd, 4096)

        check_lcp(lcp_exchange(lambda b: os.write(fd, b), recv))
    finally:
        os.close(fd)


@pytest.mark.parametrize("method", ["pap", "chap"])
@pytest.mark.parametrize("good", [True, False])
def test_slirp_authenticates(slirp_factory: Callable[..., Slirp], method: str, good: bool) -> None:
    peer = slirp_factory(auth=method)
    password = peer.password if good else "wrong"
    with socket.create_connection((peer.host, peer.port), timeout=5) as s:
        s.settimeout(0.5)
        frames = lcp_exchange(s.sendall, lambda: s.recv(4096), auth=(method, peer.user, password))
    proto = hdlc.PAP if method == "pap" else hdlc.CHAP
    auth_option = bytes([3, 4, 0xC0, 0x23]) if method == "pap" else bytes([3, 5, 0xC2, 0x23, 5])
    assert any(p[0] == hdlc.CONF_REQ and auth_option in p for q, p in frames if q == hdlc.LCP)
    # PAP: Authenticate-Ack 2 / Nak 3; CHAP: Success 3 / Failure 4.
    success, failure = (2, 3) if method == "pap" else (3, 4)
    replies = [p[0] for q, p in frames if q == proto and p[0] in (success, failure)]
    assert replies == [success if good else failure], frames


def test_slirp_stop_removes_namespace_and_processes() -> None:
    peer = Slirp().start()
    with socket.create_connection((peer.host, peer.port), timeout=5) as s:
        s.settimeout(0.5)
        lcp_exchange(s.sendall, lambda: s.recv(4096))
        pids = [peer.pid, *peer.netns_pids()]
        assert len(pids) >= 2
        netns = peer.netns
        peer.cleanup()
    assert not any(alive(p) for p in pids)
    assert (
        netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    )
    assert not peer.dir.exists()


# The real /etc is never edited: a namespace stands in for the host, with copies of the account
# files bind-mounted over its /etc; the test then replaces those copies the way useradd and
# package installs replace /etc/passwd (write a new file, rename it over the old one).
FAKE_HOST = 'for f in passwd shadow group; do mount --bind "$0/$f" "/etc/$f"; done; exec "$@"'


async def test_sshd_user_survives_etc_files_being_replaced_by_rename(tmp_path: Path) -> None:
    import shutil
    import tempfile

    from peers.sshd import sshd_available

    sshd_available()
    host_etc = Path(tempfile.mkdtemp(prefix="openras-host-etc-"))
    for name in ("passwd", "shadow", "group"):
        shutil.copy2(f"/etc/{name}", host_etc / name)
    wrap = ("unshare", "-m", "--propagation", "private", "sh", "-c", FAKE_HOST, str(host_etc))
    server = Sshd(wrap=wrap)
    try:
        await asyncio.to_thread(server.start)
        async with connect(server, password=server.password) as conn:
            assert (await conn.run("id -u", check=True)).stdout == f"{server.uid}\n"
        for name in ("passwd", "shadow", "group"):
            new = host_etc / f"{name}+"
            shutil.copy2(host_etc / name, new)
            os.rename(new, host_etc / name)
        async with connect(server, password=server.password) as conn:
            assert (await conn.run("id -u", check=True)).stdout == f"{server.uid}\n"
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(host_etc, ignore_errors=True)


def test_smbd_user_survives_etc_files_being_replaced_by_rename() -> None:
    import shutil
    import tempfile

    from impacket.smbconnection import SMBConnection
    from peers import require
    from peers.smbd import SMBD, SMBPASSWD, start_smbd

    require(os.path.exists(SMBD) and os.path.exists(SMBPASSWD), "samba is not installed")
    require(os.geteuid() == 0, "the smbd peer needs root (a private mount namespace)")
    host_etc = Path(tempfile.mkdtemp(prefix="openras-host-etc-"))
    for name in ("passwd", "shadow", "group"):
        shutil.copy2(f"/etc/{name}", host_etc / name)
    base = Path(tempfile.mkdtemp(prefix="openras-smbd-"))
    os.chmod(base, 0o755)
    wrap = ("unshare", "-m", "--propagation", "private", "sh", "-c", FAKE_HOST, str(host_etc))
    server = start_smbd(base, wrap=wrap)

    def listing() -> list[str]:
        conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=server.port, timeout=10)
        try:
            conn.login(server.user, server.password)
            return [f.get_longname() for f in conn.listPath(server.share, "*")]
        finally:
            conn.close()

    try:
        (server.share_dir / "probe.txt").write_text("here")
        assert "probe.txt" in listing()
        for name in ("passwd", "shadow", "group"):
            new = host_etc / f"{name}+"
            shutil.copy2(host_etc / name, new)
            os.rename(new, host_etc / name)
        assert "probe.txt" in listing()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(host_etc, ignore_errors=True)
