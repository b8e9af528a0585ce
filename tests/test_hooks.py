"""Per-connection hooks on real SSH links (issue 12, item 1, "Must show").

Every test runs a real openras daemon and a real OpenSSH sshd; the hooks are shell scripts in the
daemon's ``hooks/<stage>.d`` directories that record their environment in files.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from ras_helpers import DialLab, events_of, ssh_entry, wait_for

from openras.codes import RASCS

STAGES = ("pre-up", "up", "pre-down", "down", "dial-failed")

RECORD = """#!/bin/sh
env > "{out}/$OPENRAS_HOOK.$OPENRAS_ENTRY.$OPENRAS_HANDLE.env"
if [ "$OPENRAS_HOOK" = up ] && [ "$OPENRAS_ENTRY" = slow ]; then exec sleep 120; fi
if [ "$OPENRAS_HOOK" = pre-up ] && [ "$OPENRAS_ENTRY" = veto ]; then
    echo "not on this network" >&2
    exit 1
fi
exit 0
"""


class Lab(DialLab):
    def __init__(self, daemon: Any, sshd: Any) -> None:
        self.daemon = daemon
        self.sshd = sshd

    @property
    def credentials(self) -> tuple[str, str]:
        return self.sshd.user, self.sshd.password


def install_hooks(daemon: Any, extra: dict[str, str] | None = None) -> Path:
    """A recording hook in every stage directory; ``extra``: stage/name → script."""
    out = daemon.home / "out"
    out.mkdir()
    for stage in STAGES:
        directory = daemon.home / "hooks" / f"{stage}.d"
        directory.mkdir(parents=True)
        script = directory / "50-record"
        script.write_text(RECORD.format(out=out))
        script.chmod(0o755)
    for where, text in (extra or {}).items():
        path = daemon.home / "hooks" / where
        path.write_text(text)
        path.chmod(0o755)
    return out


def hook_events(daemon: Any, handle: int, stage: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in events_of(daemon, handle)
        if e["kind"] == "hook" and (stage is None or e["stage"] == stage)
    ]


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def lab(daemon_factory: Any, sshd: Any) -> Any:
    def make(timeout: float = 30, extra: dict[str, str] | None = None) -> tuple[Lab, Path]:
        daemon = daemon_factory(
            f"[daemon]\nfailed_handle_grace = 2\n[hooks]\ntimeout = {timeout}\n", start=False
        )
        out = install_hooks(daemon, extra)
        daemon.start()
        return Lab(daemon, sshd), out

    return make


def test_hooks_run_in_order_with_the_connections_fields_and_no_secret(lab: Any, sshd: Any) -> None:
    lab, out = lab()
    ssh_entry(lab.daemon, sshd, "office")
    handle, notes = lab.dial("office")
    assert notes[-1].state == RASCS.Connected and notes[-1].error == 0
    wait_for(lambda: hook_events(lab.daemon, handle, "up"))
    lab.hangup(handle)
    wait_for(lambda: hook_events(lab.daemon, handle, "down"))
    runs = hook_events(lab.daemon, handle)
    assert [(e["stage"], e["hook"], e["outcome"]) for e in runs] == [
        (stage, "50-record", "ok") for stage in ("pre-up", "up", "pre-down", "down")
    ]
    assert all(e["exit_status"] == 0 and e["duration"] >= 0 for e in runs)
    # pre-up ran before Connected was announced, up after it.
    events = events_of(lab.daemon, handle)
    connected = next(e["seq"] for e in events if e.get("state_name") == "RASCS_Connected")
    assert runs[0]["seq"] < connected < runs[1]["seq"]
    up = read_env(out / f"up.office.{handle}.env")
    assert up["OPENRAS_HANDLE"] == str(handle) and up["OPENRAS_ENTRY"] == "office"
    assert up["OPENRAS_DEVICE_TYPE"] == "ssh" and up["OPENRAS_USER"] == sshd.user
    assert up["OPENRAS_STATE_NAME"] == "RASCS_Connected" and up["OPENRAS_SOCKS_PORT"].isdigit()
    down = read_env(out / f"down.office.{handle}.env")
    # down still names the link's SOCKS port, and the reason it went away.
    assert down["OPENRAS_SOCKS_PORT"] == up["OPENRAS_SOCKS_PORT"]
    assert (
        down["OPENRAS_ERROR"] == "631" and down["OPENRAS_ERROR_NAME"] == "ERROR_USER_DISCONNECTION"
    )
    for path in out.iterdir():
        text = path.read_text()
        assert sshd.password not in text, path
        # Nothing of the daemon's own environment leaks into a hook's.
        assert "PYTHONPATH" not in read_env(path)


def test_a_hook_past_its_timeout_is_killed_while_another_connection_runs_its_hooks(
    lab: Any, sshd: Any
) -> None:
    lab, out = lab(timeout=8)
    ssh_entry(lab.daemon, sshd, "slow")
    ssh_entry(lab.daemon, sshd, "fast")
    slow, notes = lab.dial("slow")
    assert notes[-1].state == RASCS.Connected
    wait_for(lambda: (out / f"up.slow.{slow}.env").exists())  # the slow up hook is sleeping
    fast, notes = lab.dial("fast")
    assert notes[-1].state == RASCS.Connected
    fast_up = wait_for(lambda: hook_events(lab.daemon, fast, "up"))[0]
    assert fast_up["outcome"] == "ok"
    # The fast connection's hooks did not wait for the slow one's: they finished while it slept.
    assert not hook_events(lab.daemon, slow, "up")
    killed = wait_for(lambda: hook_events(lab.daemon, slow, "up"), timeout=30)[0]
    assert killed["outcome"] == "timed_out" and killed["exit_status"] == -9
    assert "time-out" in killed["detail"] and killed["seq"] > fast_up["seq"]
    # The slow connection's own queue goes on after the killed hook.
    lab.hangup(slow)
    assert [e["stage"] for e in wait_for(lambda: hook_events(lab.daemon, slow, "down"))] == ["down"]
    lab.hangup(fast)


def test_down_runs_after_the_server_kills_the_session(lab: Any, sshd: Any) -> None:
    lab, out = lab()
    ssh_entry(lab.daemon, sshd, "office")
    handle, _ = lab.dial("office")
    wait_for(lambda: hook_events(lab.daemon, handle, "up"))
    assert not hook_events(lab.daemon, handle, "down")
    sshd.kill_sessions()
    down = wait_for(lambda: hook_events(lab.daemon, handle, "down"), timeout=30)
    assert [e["outcome"] for e in down] == ["ok"]
    env = read_env(out / f"down.office.{handle}.env")
    assert env["OPENRAS_ERROR"] in ("629", "829") and env["OPENRAS_SOCKS_PORT"].isdigit()
    # No pre-down for a link that is already gone, and down only once when the handle is hung up.
    lab.hangup(handle)
    assert [e["stage"] for e in hook_events(lab.daemon, handle)] == ["pre-up", "up", "down"]


def test_down_runs_before_a_redial_and_up_after_it(lab: Any, sshd: Any) -> None:
    lab, out = lab()
    ssh_entry(
        lab.daemon, sshd, "office", RedialOnLinkFailure="1", RedialSeconds="1", RedialAttempts="3"
    )
    handle, _ = lab.dial("office")
    wait_for(lambda: hook_events(lab.daemon, handle, "up"))
    sshd.kill_sessions()
    wait_for(lambda: len(hook_events(lab.daemon, handle, "up")) == 2, timeout=40)
    stages = [e["stage"] for e in hook_events(lab.daemon, handle)]
    assert stages == ["pre-up", "up", "down", "pre-up", "up"]
    kinds = [e["kind"] for e in events_of(lab.daemon, handle)]
    # down ran for the lost link before the redial's hooks (the redial event precedes both).
    assert "redial" in kinds
    assert read_env(out / f"down.office.{handle}.env")["OPENRAS_ERROR"] in ("629", "829")
    lab.hangup(handle)
    wait_for(lambda: len(hook_events(lab.daemon, handle, "down")) == 2)  # down follows release
    assert [e["stage"] for e in hook_events(lab.daemon, handle)][-2:] == ["pre-down", "down"]


def test_down_runs_for_a_link_a_killed_daemon_left_behind(lab: Any, sshd: Any) -> None:
    lab, out = lab()
    ssh_entry(lab.daemon, sshd, "office")
    handle, _ = lab.dial("office")
    wait_for(lambda: hook_events(lab.daemon, handle, "up"))
    lab.daemon.kill()
    lab.daemon.start()
    down = wait_for(lambda: hook_events(lab.daemon, handle, "down"), timeout=30)
    assert [e["outcome"] for e in down] == ["ok"]
    env = read_env(out / f"down.office.{handle}.env")
    assert env["OPENRAS_ERROR"] == "668" and env["OPENRAS_ERROR_NAME"] == "ERROR_NO_CONNECTION"
    assert env["OPENRAS_SOCKS_PORT"].isdigit()  # the link's fields, from the stored record


def test_pre_up_exiting_1_fails_the_dial(lab: Any, sshd: Any) -> None:
    lab, out = lab()
    ssh_entry(lab.daemon, sshd, "veto")
    handle, notes = lab.dial("veto")
    assert notes[-1].error == 1223 and notes[-1].state != RASCS.Connected
    status = lab.status(handle)
    assert status is not None and status.error == 1223 and "pre-up hook 50-record" in status.detail
    assert "not on this network" in status.detail
    failed = wait_for(lambda: hook_events(lab.daemon, handle, "dial-failed"))
    assert failed[0]["outcome"] == "ok"
    pre_up = hook_events(lab.daemon, handle, "pre-up")
    assert [(e["outcome"], e["exit_status"]) for e in pre_up] == [("failed", 1)]
    assert not hook_events(lab.daemon, handle, "up")
    assert read_env(out / f"dial-failed.veto.{handle}.env")["OPENRAS_ERROR"] == "1223"
    assert not any(e.get("state_name") == "RASCS_Connected" for e in events_of(lab.daemon, handle))
    lab.hangup(handle)


def test_an_insecure_hook_is_skipped_and_reported(
    lab: Any, sshd: Any, client_uids: tuple[int, int]
) -> None:
    marker = "insecure-ran"
    lab, out = lab()
    script = lab.daemon.home / "hooks" / "up.d" / "40-insecure"
    script.write_text(f"#!/bin/sh\ntouch {out}/{marker}\n")
    os.chmod(script, 0o777)  # world-writable: anyone could put code in it
    ssh_entry(lab.daemon, sshd, "office")
    handle, _ = lab.dial("office")
    up = wait_for(
        lambda: (
            len(hook_events(lab.daemon, handle, "up")) == 2
            and hook_events(lab.daemon, handle, "up")
        )
    )
    assert [(e["hook"], e["outcome"]) for e in up] == [
        ("40-insecure", "skipped"),
        ("50-record", "ok"),
    ]
    assert "writable" in up[0]["detail"] and up[0]["exit_status"] is None
    assert not (out / marker).exists()
    # Hook diagnostics (paths, stderr) are the administrator's, like notifyee reports.
    kinds = lab.daemon.python_json(
        "import json; from openras.client import Client\n"
        "with Client(autostart=False) as c:\n"
        "    log = c.call('GET', '/v1/events/log', params={'since': 0, 'limit': 1000})\n"
        "print(json.dumps([e['kind'] for e in log]))",
        uid=client_uids[0],
    )
    assert "state" in kinds and "hook" not in kinds
    lab.hangup(handle)


HOLD = """#!/bin/sh
# pre-down of entry "held": say so, then hold the shutdown until the test releases it.
[ "$OPENRAS_ENTRY" = held ] || exit 0
out="$(dirname "$0")/../../out"
touch "$out/holding"
i=0
while [ ! -e "$out/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
exit 0
"""


def test_a_dial_while_the_daemon_stops_is_refused(lab: Any, sshd: Any) -> None:
    """SIGTERM hangs every link up, pre-down hooks included, while the API still answers: a
    dial sent then is refused (711, the daemon is stopping), not started behind the
    shutdown's back."""
    from openras.client import ApiError
    from openras.client.ras import Ras
    from openras.codes import ErrorCode

    lab, out = lab(extra={"pre-down.d/60-hold": HOLD})
    ssh_entry(lab.daemon, sshd, "held")
    ssh_entry(lab.daemon, sshd, "later")
    _, notes = lab.dial("held")
    assert notes[-1].state == RASCS.Connected
    assert lab.daemon.proc is not None
    lab.daemon.proc.send_signal(signal.SIGTERM)
    try:
        wait_for(lambda: (out / "holding").exists())  # the shutdown waits in pre-down
        user, password = lab.credentials
        with lab.daemon.client() as c:
            with pytest.raises(ApiError) as refused:
                Ras(c).dial("later", user=user, password=password)
        assert refused.value.code == ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE
        assert "stopping" in str(refused.value)
    finally:
        (out / "release").touch()
    assert lab.daemon.proc.wait(30) == 0
