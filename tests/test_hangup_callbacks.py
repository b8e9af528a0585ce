"""No win32ras callback runs after HangUp has returned: from another thread or from inside the
callback, at several points of a dial. Each case is repeated so that a race would show."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from ras_helpers import SSH_STATES, ssh_entry, status_or_none, wait_for

ROUNDS = 4


class Recorder:
    """One dial's callback: the states seen, and those that began after HangUp returned."""

    def __init__(self, win32ras: Any, hang_up_at: int | None = None) -> None:
        self.win32ras = win32ras
        self.hang_up_at = hang_up_at  # hang up from inside the callback after this many calls
        self.calls: list[int] = []
        self.late: list[int] = []
        self.returned = threading.Event()  # HangUp has returned
        self.calls_made = threading.Condition()

    def __call__(self, h: int, msg: int, state: int, error: int, extended: int) -> None:
        if self.returned.is_set():
            self.late.append(state)
        with self.calls_made:
            self.calls.append(state)
            self.calls_made.notify_all()
        if self.hang_up_at is not None and len(self.calls) == self.hang_up_at:
            self.win32ras.HangUp(h)
            self.returned.set()

    def wait_calls(self, n: int) -> bool:
        with self.calls_made:
            return self.calls_made.wait_for(lambda: len(self.calls) >= n, 30)


def _dial(win32ras: Any, sshd: Any, recorder: Recorder) -> int:
    handle, rc = win32ras.Dial(None, None, ("lab", "", "", sshd.user, sshd.password, ""), recorder)
    assert rc == 0 and handle > 0
    return handle


@pytest.mark.parametrize("after", [1, 4, len(SSH_STATES) - 1])
def test_hangup_from_another_thread_stops_callbacks(
    win32ras: Any, daemon: Any, sshd: Any, after: int
) -> None:
    ssh_entry(daemon, sshd)
    for _ in range(ROUNDS):
        recorder = Recorder(win32ras)
        handle = _dial(win32ras, sshd, recorder)
        assert recorder.wait_calls(after), recorder.calls
        win32ras.HangUp(handle)
        recorder.returned.set()
        wait_for(lambda h=handle: status_or_none(daemon, h) is None)
        assert recorder.late == [], (after, recorder.calls)


@pytest.mark.parametrize("at", [1, 4, len(SSH_STATES) - 1])
def test_hangup_inside_the_callback_stops_callbacks(
    win32ras: Any, daemon: Any, sshd: Any, at: int
) -> None:
    ssh_entry(daemon, sshd)
    for _ in range(ROUNDS):
        recorder = Recorder(win32ras, hang_up_at=at)
        handle = _dial(win32ras, sshd, recorder)
        assert recorder.returned.wait(30), recorder.calls
        wait_for(lambda h=handle: status_or_none(daemon, h) is None)
        # The hanging-up callback was the last one.
        assert len(recorder.calls) == at and recorder.late == [], (at, recorder.calls)


class SlowRecorder(Recorder):
    """Each callback takes a while, so the dial's later notifications wait in the queue."""

    def __call__(self, h: int, msg: int, state: int, error: int, extended: int) -> None:
        super().__call__(h, msg, state, error, extended)
        time.sleep(0.4)


def test_hangup_by_another_process_stops_callbacks(win32ras: Any, daemon: Any, sshd: Any) -> None:
    """Once this process has seen another's hang-up of its handle on its event stream, no
    callback starts, not even for notifications queued before it."""
    ssh_entry(daemon, sshd)
    for _ in range(ROUNDS):
        recorder = SlowRecorder(win32ras)
        handle = _dial(win32ras, sshd, recorder)
        assert recorder.wait_calls(1), recorder.calls
        daemon.python_json(
            f"import json; from openras import win32ras as w; w.HangUp({handle}); print(1)"
        )
        key = (str(daemon.socket), handle)
        wait_for(lambda k=key: k in win32ras._hung_up)  # this process saw the hang-up
        recorder.returned.set()
        wait_for(lambda h=handle: status_or_none(daemon, h) is None)
        time.sleep(0.5)  # anything still queued would have run by now
        assert recorder.late == [], recorder.calls
        assert len(recorder.calls) < len(SSH_STATES)  # the queued notifications were dropped
