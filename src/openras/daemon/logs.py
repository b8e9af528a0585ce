"""The daemon's log: rotated when it is the instance's ``daemon.log`` file.

A daemon started by a client (or by the tests) has its stderr on ``daemon.log``. Logging then
goes through a size-rotating handler on that file, and after each rotation stderr (fd 2) is
pointed at the new file too, so that stray output and tracebacks are not written to a file that
is no longer the log. Any other stderr (a terminal, journald) is left as it is. Either is
written by a thread of its own, off the event loop.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import sys
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class _StderrFollowing(logging.handlers.RotatingFileHandler):
    def doRollover(self) -> None:
        super().doRollover()
        if self.stream is not None:
            sys.stderr.flush()
            os.dup2(self.stream.fileno(), 2)


def _is_stderr(path: Path) -> bool:
    try:
        err, log = os.fstat(2), os.stat(path)
    except OSError:
        return False
    return (err.st_dev, err.st_ino) == (log.st_dev, log.st_ino)


def setup(
    path: Path,
    level: int,
    max_bytes: int = MAX_BYTES,
    backups: int = BACKUPS,
    fmt: str = FORMAT,
) -> None:
    handler: logging.Handler
    if max_bytes > 0 and _is_stderr(path):
        handler = _StderrFollowing(path, maxBytes=max_bytes, backupCount=max(backups, 1))
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    # The file (or stderr) is written by a thread of its own: a log line costs the event loop
    # a queue put, not its formatting, a stat of the file for rotation and a write.
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    atexit.register(listener.stop)  # what is queued is written before the process ends
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)


def limits(config_file: Path) -> tuple[int, int]:
    """``[daemon] log_max_bytes`` and ``log_backups`` from openras.toml (defaults when unset or
    unreadable: the configuration's own errors are reported when the daemon loads it)."""
    import tomllib

    try:
        daemon = tomllib.loads(config_file.read_text()).get("daemon", {})
    except (OSError, ValueError):
        return MAX_BYTES, BACKUPS
    size, backups = daemon.get("log_max_bytes", MAX_BYTES), daemon.get("log_backups", BACKUPS)
    if not isinstance(size, int) or not isinstance(backups, int):
        return MAX_BYTES, BACKUPS
    return size, backups
