"""A real IKEv2 server: strongSwan's charon in a network namespace of its own (peers.md, "IKEv2").

Layout (addresses only inside the namespaces this fixture makes)::

    client netns  veth 192.0.2.2/24  ──  veth 192.0.2.1/24  server netns
                                                             lo 198.51.100.1/24 (the LAN)
                                                             (HTTP server, the tunnel's far side)

The server authenticates with a certificate (EC P-256 CA made with ``pki``, server certificate
with the SANs the test asks for) and the client with EAP-MSCHAPv2; it hands out a virtual IP
from 10.77.0.0/24 and two DNS servers, and narrows the traffic selectors to 198.51.100.0/24.
charon runs with a private ``/run`` (``unshare --mount``: its pid file path is compiled in) and
its own VICI socket and log; ESP runs in user space (kernel-libipsec). Everything is started and
stopped by PID; the namespaces are deleted at clean-up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import have_program, require
from .procs import stop_tree

CHARON = "/usr/lib/ipsec/charon"
SERVER_ADDR = "192.0.2.1"
CLIENT_ADDR = "192.0.2.2"
LAN_ADDR = "198.51.100.1"
LAN_NET = "198.51.100.0/24"
POOL = "10.77.0.0/24"
DNS = ("198.51.100.53", "198.51.100.54")
SERVER_NAME = "vpn.test"

PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints sha1 sha2 hmac kdf aes gcm attr "
    "kernel-libipsec kernel-netlink socket-default vici eap-identity eap-mschapv2"
)

# A private /run for charon: its pid file (/var/run/charon.pid) is compiled in (peers.md).
PRIVATE_RUN = 'mount --bind "$1" /run && shift && exec "$@"'

HTTP_SERVER = r"""
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
s = S((sys.argv[2], 0), functools.partial(H, directory=sys.argv[1]))
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def strongswan_available() -> None:
    """Skip (or fail in CI) when this machine cannot run the strongSwan peer."""
    require(os.geteuid() == 0, "the strongSwan peer needs root (network namespaces)")
    for program in (CHARON, "swanctl", "pki", "ip", "unshare"):
        require(
            have_program(program),
            f"{program} is missing (Debian packages strongswan-charon, "
            "strongswan-swanctl, strongswan-pki, libcharon-extra-plugins)",
        )
    require(
        os.access("/dev/net/tun", os.R_OK | os.W_OK),
        "/dev/net/tun is missing (kernel-libipsec needs TUN)",
    )


def run(argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=60, check=True, **kwargs
    )


class Pki:
    """An EC P-256 CA and certificates it issues, made with strongSwan's ``pki``."""

    def __init__(self, directory: Path, name: str = "openras test CA") -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca.key"
        self.ca_cert = self.dir / "ca.crt"
        self.ca_key.write_text(
            run(["pki", "--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem"]).stdout
        )
        cert = run(
            [
                "pki",
                "--self",
                "--ca",
                "--lifetime",
                "30",
                "--in",
                str(self.ca_key),
                "--type",
                "ecdsa",
                "--dn",
                f"CN={name}",
                "--outform",
                "pem",
            ]
        ).stdout
        self.ca_cert.write_text(cert)
        os.chmod(self.ca_cert, 0o644)

    def issue(self, stem: str, dn: str, sans: Sequence[str]) -> tuple[Path, Path]:
        key, crt = self.dir / f"{stem}.key", self.dir / f"{stem}.crt"
        key.write_text(
            run(["pki", "--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem"]).stdout
        )
        pub = subprocess.run(
            ["pki", "--pub", "--in", str(key), "--type", "ecdsa"],
            capture_output=True,
            timeout=60,
            check=True,
        )
        san_args = [a for san in sans for a in ("--san", san)]
        issued = subprocess.run(
            [
                "pki",
                "--issue",
                "--lifetime",
                "30",
                "--cacert",
                str(self.ca_cert),
                "--cakey",
                str(self.ca_key),
                "--type",
                "pub",
                "--dn",
                dn,
                *san_args,
                "--flag",
                "serverAuth",
                "--flag",
                "ikeIntermediate",
                "--outform",
                "pem",
            ],
            input=pub.stdout,
            capture_output=True,
            timeout=60,
            check=True,
        )
        crt.write_bytes(issued.stdout)
        return key, crt


class StrongswanServer:
    """Attributes: server_ns, client_ns, dir, ca_cert (the CA clients must trust), user, password,
    http_port (after ``http_server()``), pid (charon's, while running)."""

    def __init__(
        self,
        sans: Sequence[str] = (SERVER_NAME, SERVER_ADDR),
        server_id: str = SERVER_NAME,
        user: str = "rasuser",
        password: str | None = None,
        ike_proposals: str = "default",
        dpd_delay: int = 0,
        extra_charon: str = "",
    ) -> None:
        tag = secrets.token_hex(3)
        self.server_ns = f"ors-{tag}"
        self.client_ns = f"orc-{tag}"
        self.dir = Path(tempfile.mkdtemp(prefix="openras-strongswan-"))
        os.chmod(self.dir, 0o755)
        self.sans = list(sans)
        self.server_id = server_id
        self.user = user
        self.password = password if password is not None else "pw-" + secrets.token_hex(8)
        self.ike_proposals = ike_proposals
        self.dpd_delay = dpd_delay
        self.extra_charon = extra_charon
        self.proc: subprocess.Popen[bytes] | None = None
        self._helpers: list[subprocess.Popen[Any]] = []
        self._netns: list[str] = []
        self.pki: Pki | None = None
        self.http_root = self.dir / "www"
        self.token = secrets.token_hex(16)
        self.http_port = 0

    # -- set-up ---------------------------------------------------------------------------

    @property
    def ca_cert(self) -> Path:
        assert self.pki is not None
        return self.pki.ca_cert

    @property
    def vici(self) -> Path:
        return self.dir / "charon.vici"

    def _make_netns(self) -> None:
        for ns in (self.server_ns, self.client_ns):
            made = subprocess.run(
                ["ip", "netns", "add", ns], capture_output=True, text=True, timeout=30
            )
            require(
                made.returncode == 0, f"cannot create a network namespace: {made.stderr.strip()}"
            )
            self._netns.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(
            [
                "ip",
                "-n",
                self.server_ns,
                "link",
                "add",
                "veth-s",
                "type",
                "veth",
                "peer",
                "name",
                "veth-c",
                "netns",
                self.client_ns,
            ]
        )
        run(["ip", "-n", self.server_ns, "addr", "add", f"{SERVER_ADDR}/24", "dev", "veth-s"])
        run(["ip", "-n", self.server_ns, "link", "set", "veth-s", "up"])
        run(["ip", "-n", self.client_ns, "addr", "add", f"{CLIENT_ADDR}/24", "dev", "veth-c"])
        run(["ip", "-n", self.client_ns, "link", "set", "veth-c", "up"])
        # The server's LAN: an address on lo (no dummy module here), reached through the tunnel
        # only.
        run(["ip", "-n", self.server_ns, "addr", "add", f"{LAN_ADDR}/24", "dev", "lo"])

    def add_client_ns(self) -> str:
        """A second client namespace (benchmarks: a bare charon beside the daemon's), joined to the
        server by its own veth pair on 198.18.0.0/24 (the server is 198.18.0.1 there)."""
        ns = f"{self.client_ns}b"
        made = subprocess.run(
            ["ip", "netns", "add", ns], capture_output=True, text=True, timeout=30
        )
        require(made.returncode == 0, f"cannot create a network namespace: {made.stderr.strip()}")
        self._netns.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(
            [
                "ip",
                "-n",
                self.server_ns,
                "link",
                "add",
                "veth-b",
                "type",
                "veth",
                "peer",
                "name",
                "veth-bc",
                "netns",
                ns,
            ]
        )
        run(["ip", "-n", self.server_ns, "addr", "add", "198.18.0.1/24", "dev", "veth-b"])
        run(["ip", "-n", self.server_ns, "link", "set", "veth-b", "up"])
        run(["ip", "-n", ns, "addr", "add", "198.18.0.2/24", "dev", "veth-bc"])
        run(["ip", "-n", ns, "link", "set", "veth-bc", "up"])
        return ns

    def _write_config(self) -> None:
        sw = self.dir / "swanctl"
        for sub in ("x509", "x509ca", "private", "conf.d"):
            (sw / sub).mkdir(parents=True, exist_ok=True)
        self.pki = Pki(self.dir / "pki")
        key, crt = self.pki.issue("server", f"CN={self.server_id}", self.sans)
        shutil.copy(key, sw / "private" / "server.key")
        shutil.copy(crt, sw / "x509" / "server.crt")
        shutil.copy(self.pki.ca_cert, sw / "x509ca" / "ca.crt")
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "strongswan.conf").write_text(f"""
charon {{
    load_modular = no
    load = {PLUGINS}
    install_virtual_ip = no
    retransmit_timeout = 1.0
    retransmit_base = 1.4
    retransmit_tries = 2
    {self.extra_charon}
    plugins {{
        vici {{
            socket = unix://{self.vici}
        }}
    }}
    filelog {{
        server {{
            path = {self.dir}/charon.log
            time_format = %H:%M:%S
            default = 1
        }}
    }}
}}
""")
        dpd = f"dpd_delay = {self.dpd_delay}s" if self.dpd_delay else ""
        (sw / "swanctl.conf").write_text(f"""
connections {{
    rw {{
        version = 2
        pools = pool
        proposals = {self.ike_proposals}
        send_certreq = no
        {dpd}
        local {{
            auth = pubkey
            certs = server.crt
            id = {self.server_id}
        }}
        remote {{
            auth = eap-mschapv2
            eap_id = %any
        }}
        children {{
            net {{
                local_ts = {LAN_NET}
                esp_proposals = aes128gcm16,aes256gcm16,aes128-sha256,default
            }}
        }}
    }}
}}
pools {{
    pool {{
        addrs = {POOL}
        dns = {", ".join(DNS)}
    }}
}}
secrets {{
    eap-user {{
        id = {self.user}
        secret = "{self.password}"
    }}
}}
""")

    # -- life cycle -------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> StrongswanServer:
        strongswan_available()
        try:
            self._make_netns()
            self._write_config()
            self.start_charon(timeout)
        except BaseException:
            self.cleanup()
            raise
        return self

    def start_charon(self, timeout: float = 20.0) -> None:
        """Start (or restart, after ``kill()``) charon and load the configuration."""
        with contextlib.suppress(FileNotFoundError):
            self.vici.unlink()
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "STRONGSWAN_CONF": str(self.dir / "strongswan.conf"),
        }
        argv = [
            "ip",
            "netns",
            "exec",
            self.server_ns,
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            PRIVATE_RUN,
            "sh",
            str(self.dir / "run"),
            CHARON,
        ]
        out = open(self.dir / "charon.out", "ab")
        try:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while not self.vici.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"charon did not start:\n{self.log()}")
            time.sleep(0.01)
        loaded = subprocess.run(
            ["swanctl", "--load-all", "--noprompt", "--uri", f"unix://{self.vici}"],
            env={**env, "SWANCTL_DIR": str(self.dir / "swanctl")},
            capture_output=True,
            text=True,
            timeout=30,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"swanctl --load-all failed:\n{loaded.stdout}{loaded.stderr}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL charon (a dead server: no DELETE is sent)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            stop_tree(self.proc)
            self.proc = None

    def swanctl(self, *args: str) -> str:
        return run(["swanctl", *args, "--uri", f"unix://{self.vici}"]).stdout

    def log(self) -> str:
        try:
            return (self.dir / "charon.log").read_text(errors="replace")
        except OSError:
            return ""

    def netns_popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc: subprocess.Popen[Any] = subprocess.Popen(
            ["ip", "netns", "exec", self.server_ns, *argv], start_new_session=True, **kwargs
        )
        self._helpers.append(proc)
        return proc

    def http_server(self, big_mib: int = 0) -> int:
        """An HTTP server on the server's LAN address (reached only through the tunnel)."""
        self.http_root.mkdir(exist_ok=True)
        (self.http_root / "index.html").write_text(self.token)
        if big_mib:
            with open(self.http_root / "big.bin", "wb") as f:
                for _ in range(big_mib):
                    f.write(os.urandom(1 << 20))
        proc = self.netns_popen(
            [sys.executable, "-c", HTTP_SERVER, str(self.http_root), LAN_ADDR],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
        self.http_port = int(line)
        return self.http_port

    def client_run(
        self, argv: Sequence[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """A short command in the client namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.client_ns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def cleanup(self) -> None:
        self.kill()
        for proc in self._helpers:
            stop_tree(proc)
        self._helpers.clear()
        for ns in self._netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self._netns.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> StrongswanServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
