"""A local HTTP server in its own process, on 127.0.0.1 and a port it picks itself.

The child binds port 0 and reports the port on stdout, so there is no free-port race.
It serves a directory with an ``index.html`` holding a random token; big files of
random data are added on request (for benchmarks) and served at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from .procs import stop_tree

SERVER = r"""
import functools, http.server, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and benchmarks expect
    def log_message(self, *args):  # no per-request noise in the log
        pass

class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 512  # a benchmark opens hundreds of connections at once
    daemon_threads = True

server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class HttpServer:
    """Attributes: host, port, url, root (served directory), token (index.html's body), pid."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="openras-http-"))
        os.chmod(self.root, 0o755)  # clients running as other uids may read it directly too
        self.token = secrets.token_hex(16)
        (self.root / "index.html").write_text(self.token)
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the HTTP server is not running"
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> HttpServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        # The child prints its port once bound; select() bounds the wait if it hangs.
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"HTTP server did not start (said {line!r})")
        self.port = int(line)
        return self

    def add_file(self, name: str, mib: int | float, chunk: int = 1 << 20) -> tuple[str, str]:
        """Write name with mib MiB of random data; return (url, sha256 hex digest)."""
        size = int(mib * (1 << 20))
        digest = hashlib.sha256()
        with open(self.root / name, "wb") as f:
            left = size
            while left:
                block = os.urandom(min(chunk, left))
                digest.update(block)
                f.write(block)
                left -= len(block)
        return self.url + name, digest.hexdigest()

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> HttpServer:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self.cleanup()
