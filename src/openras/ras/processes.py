"""Telling whether a client process still lives (for releasing failed handles of dead owners).

A pid alone can be reused; the pair (pid, start time from /proc/PID/stat) cannot.
"""

from __future__ import annotations

from dataclasses import dataclass


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start: int | None

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        if pid <= 0:
            return None
        return cls(pid, _start_time(pid))

    def alive(self) -> bool:
        start = _start_time(self.pid)
        return start is not None and start == self.start
