"""Process helpers that work by PID through /proc — never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from typing import Any


def children_map() -> dict[int, list[int]]:
    """parent PID -> child PIDs, from one pass over /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may contain spaces: parse after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid (children, grandchildren, …), parents before children."""
    tree = children_map()
    out: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] != b"Z"


def state(pid: int) -> str:
    """The /proc state letter of pid ('R', 'S', 'T', 'Z', …), or '' when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return ""
    return stat[stat.rfind(b")") + 2 :][:1].decode()


def freeze_descendants(pid: int, timeout: float = 5.0) -> list[int]:
    """SIGSTOP every descendant of pid, repeating until no new one appears; return them.

    One snapshot is not enough: a process may fork between the snapshot and its SIGSTOP
    (sshd's monitor forks the user's session process right after authentication), and that
    child would keep answering. Stopped processes cannot fork, so the loop converges.
    """
    stopped: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        pids = descendants(pid)
        new = [p for p in pids if p not in stopped]
        signal_pids(new, signal.SIGSTOP)
        stopped.update(new)
        # Wait until each one is really stopped (delivery is asynchronous) before looking again.
        while (
            any(state(p) not in ("T", "t", "Z", "") for p in pids) and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        if not new or time.monotonic() >= deadline:
            return [p for p in pids if state(p) not in ("Z", "")]


def signal_pids(pids: list[int], sig: int) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


def wait_gone(pids: list[int], timeout: float = 5.0) -> bool:
    """Wait until none of pids is alive (zombies count as gone: their parent reaps them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.01)
    return not any(alive(p) for p in pids)


def kill_descendants(root: int, timeout: float = 5.0) -> list[int]:
    """Freeze every descendant of root (a stable set, see freeze_descendants), then SIGKILL them
    all.

    Orphans killed this way are re-parented to PID 1 and stay zombies until it reaps them;
    on these machines PID 1 (not a classic init) does so only every few seconds, so
    zombies listed in ps shortly after a test are expected; alive() treats them as gone.
    """
    pids = freeze_descendants(root, timeout)
    signal_pids(pids, signal.SIGKILL)
    return pids


def stop_tree(proc: subprocess.Popen[Any], term_timeout: float = 5.0) -> None:
    """Stop proc and everything under it, by PID and by its own process group.

    The leader is frozen first so it cannot fork while its tree is collected; the tree is
    frozen and killed before the leader (see kill_descendants).
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGSTOP)
    tree = kill_descendants(proc.pid, term_timeout)
    # Our own process group (start_new_session=True made proc its leader), signalled while
    # the unreaped leader still reserves its number: catches members re-parented before we looked.
    if proc.returncode is None:  # unreaped, so the group number cannot have been reused
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(term_timeout)
    wait_gone(tree, term_timeout)
