"""Real test peers (OpenSSH, HTTP, slirp) run by PID for the test suite.

Each peer checks its capabilities with :func:`require`: a missing one skips the test,
except under ``CI=true``, where it fails (CI must have every capability).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when a capability is missing; fail instead in CI, where nothing may be skipped."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI lacks a required capability: {reason}", pytrace=False)
        pytest.skip(reason)


def have_program(name: str) -> bool:
    return shutil.which(name) is not None or os.access(name, os.X_OK)


def can_unshare_mounts() -> bool:
    """True when this process may create a private mount namespace (root, and not blocked)."""
    if os.geteuid() != 0 or not have_program("unshare"):
        return False
    try:
        return (
            subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=10).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (callers that cannot inherit a socket retry on a clash)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
