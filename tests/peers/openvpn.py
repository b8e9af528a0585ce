"""A real OpenVPN server (package ``openvpn``) in a network namespace of its own.

Two namespaces joined by a veth pair: the server's (192.0.2.1/24 + its tun, 10.8.0.1) and the
client's (192.0.2.2/24, where the openras daemon runs). Nothing else is reachable from either.
A tiny PKI is made with openssl: an EC P-256 CA, server and client certificates and a
tls-crypt key; users are checked by ``auth-user-pass-verify SCRIPT via-file``. The server
pushes a DNS server (10.8.0.53) and a route (10.9.0.0/24) and keepalive ``1 3`` (a dead
server is noticed by the client within about 3 s).

Processes are started in their own sessions and stopped by PID; the namespaces are deleted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import have_program, require
from .http import SERVER as HTTP_SERVER
from .procs import signal_pids, stop_tree

SERVER_IP = "192.0.2.1"
CLIENT_IP = "192.0.2.2"
TUNNEL_SERVER_IP = "10.8.0.1"
PUSHED_DNS = "10.8.0.53"
PUSHED_ROUTE = "10.9.0.0/24"
PORT = 1194


def openvpn_available() -> None:
    """Skip (or fail in CI) when this machine cannot run the OpenVPN peer."""
    require(os.geteuid() == 0, "the OpenVPN peer needs root (network namespaces, TUN)")
    for program in ("openvpn", "openssl", "ip"):
        require(
            have_program(program),
            f"{program} is missing (Debian packages openvpn, openssl, iproute2)",
        )
    require(os.access("/dev/net/tun", os.R_OK | os.W_OK), "/dev/net/tun is missing")


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True, **kwargs)


def make_pki(directory: Path) -> None:
    """CA, server and client certificates (EC P-256) and a tls-crypt key under ``directory``."""
    d = str(directory)
    _run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{d}/ca.key"])
    _run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            f"{d}/ca.key",
            "-subj",
            "/CN=openras-test-ca",
            "-days",
            "2",
            "-out",
            f"{d}/ca.crt",
        ]
    )
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        _run(
            [
                "openssl",
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                f"{d}/{name}.key",
            ]
        )
        _run(
            [
                "openssl",
                "req",
                "-new",
                "-key",
                f"{d}/{name}.key",
                "-subj",
                f"/CN={name}",
                "-out",
                f"{d}/{name}.csr",
            ]
        )
        (directory / f"{name}.ext").write_text(
            f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={usage}\n"
        )
        _run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                f"{d}/{name}.csr",
                "-CA",
                f"{d}/ca.crt",
                "-CAkey",
                f"{d}/ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                f"{d}/{name}.ext",
                "-out",
                f"{d}/{name}.crt",
            ]
        )
    # A CA that signed nothing here: a client trusting only it rejects the server.
    _run(
        [
            "openssl",
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            f"{d}/other-ca.key",
        ]
    )
    _run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            f"{d}/other-ca.key",
            "-subj",
            "/CN=other-ca",
            "-days",
            "2",
            "-out",
            f"{d}/other-ca.crt",
        ]
    )
    _run(["openvpn", "--genkey", "tls-crypt", f"{d}/tc.key"])


class OpenVpnServer:
    """Attributes: dir, server_ns, client_ns, user, password, pid; ``client_config()`` writes a
    client config (paths to the CA and tls-crypt key) and returns its path."""

    def __init__(
        self, user: str = "alice", password: str | None = None, proto: str = "udp"
    ) -> None:
        tag = secrets.token_hex(3)
        self.server_ns = f"ovpn-s-{tag}"
        self.client_ns = f"ovpn-c-{tag}"
        self.veth = (f"ovs{tag}", f"ovc{tag}")
        self.user = user
        self.password = password if password is not None else f'pw {secrets.token_hex(6)} "q"'
        self.proto = proto
        self.dir = Path(tempfile.mkdtemp(prefix="openras-ovpn-"))
        os.chmod(self.dir, 0o755)
        self.proc: subprocess.Popen[bytes] | None = None
        self._helpers: list[subprocess.Popen[Any]] = []
        self._made: list[str] = []

    # -- set-up ------------------------------------------------------------------------

    def _netns(self) -> None:
        for ns in (self.server_ns, self.client_ns):
            made = subprocess.run(
                ["ip", "netns", "add", ns], capture_output=True, text=True, timeout=30
            )
            require(
                made.returncode == 0, f"cannot create a network namespace: {made.stderr.strip()}"
            )
            self._made.append(ns)
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        s, c = self.veth
        # Made inside the server namespace from the start: no interface ever appears in the host's.
        _run(
            [
                "ip",
                "-n",
                self.server_ns,
                "link",
                "add",
                s,
                "type",
                "veth",
                "peer",
                "name",
                c,
                "netns",
                self.client_ns,
            ]
        )
        _run(["ip", "-n", self.server_ns, "addr", "add", f"{SERVER_IP}/24", "dev", s])
        _run(["ip", "-n", self.client_ns, "addr", "add", f"{CLIENT_IP}/24", "dev", c])
        _run(["ip", "-n", self.server_ns, "link", "set", s, "up"])
        _run(["ip", "-n", self.client_ns, "link", "set", c, "up"])

    def _server_files(self) -> None:
        d = self.dir
        (d / "users").write_text(f"{self.user}\n{self.password}\n")
        os.chmod(d / "users", 0o600)
        script = d / "verify.sh"
        # via-file: $1 holds the user name and the password, one per line.
        script.write_text(f"""#!/bin/sh
[ "$(sed -n 1p "$1")" = "$(sed -n 1p {d}/users)" ] &&
  [ "$(sed -n 2p "$1")" = "$(sed -n 2p {d}/users)" ]
""")
        os.chmod(script, 0o755)
        (d / "server.conf").write_text(f"""dev tun
topology subnet
server 10.8.0.0 255.255.255.0
proto {self.proto}
port {PORT}
ca {d}/ca.crt
cert {d}/server.crt
key {d}/server.key
dh none
tls-crypt {d}/tc.key
script-security 2
auth-user-pass-verify {script} via-file
verify-client-cert none
username-as-common-name
push "dhcp-option DNS {PUSHED_DNS}"
push "route {PUSHED_ROUTE.replace("/24", " 255.255.255.0")}"
keepalive 1 3
verb 3
""")

    def client_config(self, name: str = "client.conf", ca: str = "ca.crt", extra: str = "") -> Path:
        """A client config next to copies of the CA and tls-crypt key (relative paths)."""
        d = self.dir / "client"
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o755)
        for f in ("ca.crt", "other-ca.crt", "tc.key"):
            shutil.copy(self.dir / f, d / f)
        path = d / name
        path.write_text(f"""client
dev tun
proto {self.proto}
remote {SERVER_IP} {PORT}
nobind
ca {ca}
tls-crypt tc.key
auth-user-pass
remote-cert-tls server
verb 3
{extra}""")
        return path

    # -- life cycle ----------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> OpenVpnServer:
        openvpn_available()
        if not self._made:
            make_pki(self.dir)
            self._server_files()
            self._netns()
        self.start_server(timeout)
        return self

    def start_server(self, timeout: float = 20.0) -> None:
        log = open(self.dir / "server.log", "wb")
        try:
            self.proc = subprocess.Popen(
                self.netns_cmd(
                    self.server_ns, ["openvpn", "--config", str(self.dir / "server.conf")]
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Initialization Sequence Completed" in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"openvpn server did not start:\n{self.log()}")

    def kill_server(self) -> None:
        """The server dies at once (SIGKILL): no exit notification reaches the client."""
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None
        (self.dir / "server.log").write_bytes(b"")

    def log(self) -> str:
        try:
            return (self.dir / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def netns_cmd(ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def run_client_ns(
        self, argv: list[str], timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.netns_cmd(self.client_ns, argv), capture_output=True, text=True, timeout=timeout
        )

    def http_server(self, root: str) -> int:
        """An HTTP server on all of the server namespace's addresses (10.8.0.1 through the
        tunnel)."""
        code = HTTP_SERVER.replace('("127.0.0.1", 0)', '("0.0.0.0", 0)')
        proc = subprocess.Popen(
            self.netns_cmd(self.server_ns, [sys.executable, "-c", code, root]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._helpers.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
        return int(line)

    def netns_pids(self, ns: str) -> list[int]:
        out = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=30
        )
        return [int(p) for p in out.stdout.split() if p.isdigit()]

    def openvpn_pids(self, ns: str) -> list[int]:
        out = []
        for pid in self.netns_pids(ns):
            try:
                if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "openvpn":
                    out.append(pid)
            except OSError:
                continue
        return out

    def cleanup(self) -> None:
        for helper in self._helpers:
            stop_tree(helper)
        self._helpers.clear()
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None
        for ns in self._made:
            for _ in range(50):  # anything left in our namespaces, by PID
                pids = self.netns_pids(ns)
                if not pids:
                    break
                signal_pids(pids, signal.SIGKILL)
                time.sleep(0.01)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self._made.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
