"""The daemon's own strongSwan charon: started on the first IKEv2 dial, stopped with the daemon.

One charon per daemon, never one per connection: two charons in one network namespace break
each other's routing rule and pid file (peers.md, "IKEv2"). It runs with

- its own ``strongswan.conf`` (``STRONGSWAN_CONF``) under the daemon's state directory: the
  plugins that suffice, ``kernel-libipsec`` before ``kernel-netlink`` (ESP in user space; the
  reverse order fails to install the CHILD_SA), a VICI socket and a file log of its own;
- a private ``/run`` (``unshare --mount`` + a bind mount): charon's pid file path is compiled in,
  and a second charon sharing ``/run`` would abort and delete the first one's routing rule;
- kernel-libipsec routes each CHILD_SA's remote traffic selectors through ``ipsec0`` in table
  220 (with an exclude route for the IKE peer); openras asks for 0.0.0.0/0 and lets the server
  narrow it, and removes a default route the user may not have (see devices/ikev2.py).

Log levels stay at 1 (2 for ``ike``/``cfg``): from level 3 on charon dumps decrypted payloads,
EAP responses included.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CHARON = "/usr/lib/ipsec/charon"
PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints sha1 sha2 hmac kdf aes gcm attr "
    "kernel-libipsec kernel-netlink socket-default vici eap-identity eap-mschapv2 resolve"
)
# In charon's private mount namespace: our run directory over /run; and, where resolvconf(8) is
# installed (the resolve plugin would hand it our DNS servers: a system-wide change), a no-op
# stand-in over it. The plugin logs each server it installs, per IKE_SA: openras reads them there
# and writes its own resolver file. Arguments are positional: nothing is quoted into the script.
PRIVATE_RUN = (
    'mount --bind "$1" /run || exit 1; '
    'if [ -e /sbin/resolvconf ]; then mount --bind "$2" /sbin/resolvconf || exit 1; fi; '
    'shift 2; exec "$@"'
)
NOOP_RESOLVCONF = (
    "#!/bin/sh\n# openras: DNS servers are written by openras itself\ncat >/dev/null\nexit 0\n"
)


@dataclass(frozen=True)
class CharonSettings:
    """Global charon settings (strongswan.conf): retransmissions are not per connection."""

    retransmit_timeout: float = 2.0
    retransmit_base: float = 1.4
    retransmit_tries: int = 4
    ike_port: int = 500
    natt_port: int = 4500

    @property
    def retransmit_budget(self) -> float:
        """Seconds until charon gives up on an unanswered request."""
        total = 0.0
        for n in range(self.retransmit_tries + 1):
            total += self.retransmit_timeout * self.retransmit_base**n
        return total


def charon_unavailable_reason() -> str | None:
    if not os.access(CHARON, os.X_OK):
        return f"{CHARON} is missing (Debian packages strongswan-charon, libcharon-extra-plugins)"
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "/dev/net/tun is missing or not accessible (kernel-libipsec needs TUN)"
    if os.geteuid() != 0:
        return "charon needs root (IKE ports, TUN, routes, a private /run)"
    return None


class Charon:
    """One charon process; ``vici_path`` is its control socket once ``start()`` returned."""

    def __init__(self, directory: Path, settings: CharonSettings | None = None) -> None:
        self.dir = directory
        self.settings = settings or CharonSettings()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def vici_path(self) -> Path:
        return self.dir / "charon.vici"

    @property
    def log_path(self) -> Path:
        return self.dir / "charon.log"

    def _write_conf(self) -> Path:
        s = self.settings
        conf = self.dir / "strongswan.conf"
        conf.write_text(f"""# written by openras: the daemon's own charon
charon {{
    load_modular = no
    load = {PLUGINS}
    port = {s.ike_port}
    port_nat_t = {s.natt_port}
    install_virtual_ip = yes
    retransmit_timeout = {s.retransmit_timeout}
    retransmit_base = {s.retransmit_base}
    retransmit_tries = {s.retransmit_tries}
    plugins {{
        vici {{
            socket = unix://{self.vici_path}
        }}
        resolve {{
            file = {self.dir}/resolv.conf
        }}
    }}
    filelog {{
        openras {{
            path = {self.log_path}
            time_format = %Y-%m-%d %H:%M:%S
            default = 1
            ike = 2
            cfg = 2
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
}}
""")
        return conf

    def start(self, timeout: float = 15.0) -> None:
        """Blocking (spawn + wait for the VICI socket): call it in a thread."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)  # VICI is full control of charon: root only
        run_dir = self.dir / "run"
        run_dir.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.vici_path.unlink()
        conf = self._write_conf()
        noop = self.dir / "resolvconf-noop"
        noop.write_text(NOOP_RESOLVCONF)
        os.chmod(noop, 0o700)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "STRONGSWAN_CONF": str(conf)}
        argv = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            PRIVATE_RUN,
            "sh",
            str(run_dir),
            str(noop),
            CHARON,
        ]
        with open(self.dir / "charon.out", "ab") as out:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"charon exited with status {self.proc.returncode}: {self.tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"charon did not open {self.vici_path}: {self.tail()}")
            time.sleep(0.005)

    def _answers(self) -> bool:
        if not self.vici_path.exists():
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.vici_path))
                return True
            except OSError:
                return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 8) -> str:
        text = ""
        for name in ("charon.out", "charon.log"):
            with contextlib.suppress(OSError):
                text += (self.dir / name).read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (charon deletes its SAs and TUN), then SIGKILL. Blocking: call it in a thread."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # The session leader is the shell exec'd into charon: its PID is charon's.
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout)


async def start_charon(directory: Path, settings: CharonSettings) -> Charon:
    charon = Charon(directory, settings)
    await asyncio.to_thread(charon.start)
    return charon
