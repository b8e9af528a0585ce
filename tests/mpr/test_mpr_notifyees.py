"""Notifyees (reference/mpr.md §1) around real SMB connections: order, lpContext, return codes,
WN_RETRY bringing the server up, executable notifyees, and notifyees that misbehave."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ras_helpers import logged_events

from openras.codes import ErrorCode, RasError
from openras.mpr import netresource as nr
from openras.mpr.netresource import NETRESOURCE
from openras.mpr.router import Caller, MprError

ROOT = Caller(0, 4321)

PY_NOTIFYEE = '''
import json
LOG = {log!r}
NAME = {name!r}

def record(fn, info, obj):
    rec = {{"name": NAME, "fn": fn, "dwNotifyStatus": info.dwNotifyStatus,
           "dwOperationStatus": info.dwOperationStatus, "lpContext": info.lpContext}}
    if fn == "add":
        rec.update(hwndOwner=obj.hwndOwner, lpRemoteName=obj.NetResource.lpRemoteName,
                   lpLocalName=obj.NetResource.lpLocalName, dwType=obj.NetResource.dwType,
                   dwAddFlags=obj.dwAddFlags)
    else:
        rec.update(lpName=obj.lpName, lpProvider=obj.lpProvider, dwFlags=obj.dwFlags,
                   fForce=obj.fForce)
    with open(LOG, "a") as f:
        f.write(json.dumps(rec) + "\\n")

def answer(fn, info, obj):
    """Default: record, set a context in the pre call, answer WN_SUCCESS."""
    record(fn, info, obj)
    if info.dwNotifyStatus == 1:
        info.lpContext = "ctx-" + NAME
    return 0

def AddConnectNotify(info, add):
    return answer("add", info, add)

def CancelConnectNotify(info, cancel):
    return answer("cancel", info, cancel)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notifyee(directory: Path, name: str, extra: str = "", mode: int = 0o644) -> tuple[Path, Path]:
    """A Python notifyee recording every call to ``<name>.log``; ``extra`` overrides ``answer``."""
    log = directory / f"{name}.log"
    path = directory / f"{name}.py"
    path.write_text(PY_NOTIFYEE.format(log=str(log), name=name) + textwrap.dedent(extra))
    os.chmod(path, mode)
    return path, log


def calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def config(notifyees: list[tuple[str, Path]], timeout: float = 10.0) -> str:
    lines = [f"[mpr]\nnotifyee_timeout = {timeout}\n", "[notifyees]"]
    lines += [f'{name} = "{path}"' for name, path in notifyees]
    return "\n".join(lines) + "\n"


def add(
    r: Any,
    remote: str,
    password: str | None,
    user: str | None,
    flags: int = 0,
    local: str | None = None,
) -> Any:
    return r.add_connection(
        ROOT,
        NETRESOURCE(dwType=nr.RESOURCETYPE_DISK, lpRemoteName=remote, lpLocalName=local),
        password,
        user,
        flags,
    )


@pytest.fixture
def ndir(mpr_home: Path) -> Path:
    d = mpr_home / "notify"
    d.mkdir(mode=0o755)
    return d


async def test_pre_and_post_calls_for_add_and_cancel(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    path, log = notifyee(ndir, "audit")
    svc = await mpr_factory(config([("audit", path)]))
    out = await add(svc.router, smbd.unc, smbd.password, smbd.user, nr.CONNECT_TEMPORARY)
    assert out["notifyee_errors"] == []
    await svc.router.cancel_connection(ROOT, smbd.unc, 0, True)
    got = calls(log)
    assert [(c["fn"], c["dwNotifyStatus"]) for c in got] == [
        ("add", 1),
        ("add", 2),
        ("cancel", 1),
        ("cancel", 2),
    ]
    pre, post, cpre, cpost = got
    assert pre == {
        "name": "audit",
        "fn": "add",
        "dwNotifyStatus": nr.NOTIFY_PRE,
        "dwOperationStatus": 0,
        "lpContext": None,
        "hwndOwner": None,
        "lpRemoteName": smbd.unc,
        "lpLocalName": None,
        "dwType": nr.RESOURCETYPE_DISK,
        "dwAddFlags": nr.CONNECT_TEMPORARY,
    }
    assert post["dwNotifyStatus"] == nr.NOTIFY_POST and post["dwOperationStatus"] == 0
    assert post["lpContext"] == "ctx-audit"
    assert cpre["lpName"] == smbd.unc and cpre["lpProvider"] is None and cpre["dwFlags"] == 0
    assert cpre["fForce"] is True and cpre["lpContext"] is None
    assert cpost["lpProvider"] == "openras SMB" and cpost["dwOperationStatus"] == 0
    assert cpost["lpContext"] == "ctx-audit"


async def test_failed_add_reaches_the_post_call_with_its_code(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    path, log = notifyee(ndir, "audit")
    svc = await mpr_factory(config([("audit", path)]))
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc.replace(smbd.share, "noshare"), smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_BAD_NET_NAME
    assert [(c["dwNotifyStatus"], c["dwOperationStatus"]) for c in calls(log)] == [(1, 0), (2, 67)]


async def test_wn_cancel_in_pre_stops_the_operation(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    path, log = notifyee(
        ndir,
        "veto",
        """
        def answer(fn, info, obj):
            record(fn, info, obj)
            info.lpContext = "set-but-vetoed"
            return 1223
    """,
    )
    svc = await mpr_factory(config([("veto", path)]))
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_CANCELLED
    assert [c["dwNotifyStatus"] for c in calls(log)] == [1]  # no post call
    assert svc.router.list_connections(ROOT) == []


async def test_other_code_in_pre_becomes_the_result(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    path, log = notifyee(
        ndir,
        "deny",
        """
        def answer(fn, info, obj):
            record(fn, info, obj)
            return 5
    """,
    )
    svc = await mpr_factory(config([("deny", path)]))
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_ACCESS_DENIED
    assert len(calls(log)) == 1 and svc.router.list_connections(ROOT) == []


async def test_no_context_no_post_call(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    path, log = notifyee(
        ndir,
        "quiet",
        """
        def answer(fn, info, obj):
            record(fn, info, obj)
            return 0
    """,
    )
    svc = await mpr_factory(config([("quiet", path)]))
    await add(svc.router, smbd.unc, smbd.password, smbd.user)
    await svc.router.cancel_connection(ROOT, smbd.unc)
    assert [(c["fn"], c["dwNotifyStatus"]) for c in calls(log)] == [("add", 1), ("cancel", 1)]


async def test_two_notifyees_pre_in_reverse_post_in_registration_order(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    shared = ndir / "shared.log"
    first, _ = notifyee(ndir, "first")
    second, _ = notifyee(ndir, "second")
    for p in (first, second):  # both write to one log, so the order across them shows
        p.write_text(p.read_text().replace(repr(str(ndir / (p.stem + ".log"))), repr(str(shared))))
    svc = await mpr_factory(config([("first", first), ("second", second)]))
    await add(svc.router, smbd.unc, smbd.password, smbd.user)
    await svc.router.cancel_connection(ROOT, smbd.unc)
    assert [(c["fn"], c["dwNotifyStatus"], c["name"]) for c in calls(shared)] == [
        ("add", 1, "second"),
        ("add", 1, "first"),
        ("add", 2, "first"),
        ("add", 2, "second"),
        ("cancel", 1, "second"),
        ("cancel", 1, "first"),
        ("cancel", 2, "first"),
        ("cancel", 2, "second"),
    ]


async def test_post_answers_after_a_failure(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    """After a failure: another code replaces the error, WN_CANCEL makes it 1223; after a success
    both are ignored."""
    replace, _ = notifyee(
        ndir,
        "replace",
        """
        def answer(fn, info, obj):
            if info.dwNotifyStatus == 1:
                info.lpContext = 1
                return 0
            return 1326
    """,
    )
    svc = await mpr_factory(config([("replace", replace)]))
    bad = smbd.unc.replace(smbd.share, "noshare")
    with pytest.raises(MprError) as e:
        await add(svc.router, bad, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_LOGON_FAILURE
    assert (await add(svc.router, smbd.unc, smbd.password, smbd.user))["provider"] == "openras SMB"

    cancel, _ = notifyee(
        ndir,
        "cancel",
        """
        def answer(fn, info, obj):
            info.lpContext = info.lpContext or 1
            return 1223 if info.dwNotifyStatus == 2 else 0
    """,
    )
    svc2 = await mpr_factory(config([("cancel", cancel)]), home=svc.ctx.paths.state / "second")
    with pytest.raises(MprError) as e:
        await add(svc2.router, bad, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_CANCELLED


RETRY_STARTS_SMBD = """
    import sys
    STARTED = []

    def answer(fn, info, obj):
        record(fn, info, obj)
        if info.dwNotifyStatus == 1:
            info.lpContext = "retry"
            return 0
        if info.dwOperationStatus != 0 and not STARTED:
            # The server is down: bring it up on the port the name asks for, then retry.
            from pathlib import Path
            import peers.smbd as peer
            chosen = peer.free_port
            peer.free_port = lambda: PORT
            try:
                server = peer.start_smbd(Path(BASE))
            finally:
                peer.free_port = chosen
            STARTED.append(server)
            sys.modules["openras_test_started_smbd"] = server
            return 1237
        return 0
"""


async def test_wn_retry_after_the_notifyee_starts_the_server(
    mpr_factory: Any, mpr_home: Path, ndir: Path
) -> None:
    import sys

    from peers import require as _need

    _need(os.geteuid() == 0, "starting smbd needs root")
    port = free_port()
    base = mpr_home / "late-smbd"
    base.mkdir()
    path, log = notifyee(
        ndir,
        "starter",
        f"PORT = {port}\nBASE = {str(base)!r}\n" + textwrap.dedent(RETRY_STARTS_SMBD),
    )
    svc = await mpr_factory(config([("starter", path)], timeout=30))
    unc = rf"\\127.0.0.1@{port}\data"
    try:
        out = await add(svc.router, unc, "s3cret-Pw", "rasuser")
        assert out["provider"] == "openras SMB"
        assert [(c["dwNotifyStatus"], c["dwOperationStatus"]) for c in calls(log)] == [
            (1, 0),  # pre, once
            (
                2,
                ErrorCode.ERROR_BAD_NET_NAME,
            ),  # unreachable: 67 from SMB, and from SFTP ("not mine")
            (2, 0),
        ]  # the retried add succeeded
        await svc.router.cancel_connection(ROOT, unc)
    finally:
        server = sys.modules.pop("openras_test_started_smbd", None)
        if server is not None:
            server.stop()


async def test_wn_retry_is_bounded(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    path, log = notifyee(
        ndir,
        "stubborn",
        """
        def answer(fn, info, obj):
            record(fn, info, obj)
            info.lpContext = info.lpContext or "x"
            return 0 if info.dwNotifyStatus == 1 else 1237
    """,
    )
    svc = await mpr_factory(
        config([("stubborn", path)]).replace("[mpr]\n", "[mpr]\nnotifyee_max_retries = 3\n")
    )
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc.replace(smbd.share, "noshare"), smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_BAD_NET_NAME
    # One pre call, then a post call per attempt: the first and three retries.
    assert [c["dwNotifyStatus"] for c in calls(log)] == [1, 2, 2, 2, 2]


SHELL_NOTIFYEE = r"""#!/bin/sh
LOG={log}
{{
  printf 'OPERATION=%s|status=%s|dwNotifyStatus=%s|dwOperationStatus=%s|lpContext=%s|' \
    "$OPERATION" "$OPENRAS_NOTIFY_STATUS" "$dwNotifyStatus" "$dwOperationStatus" "$lpContext"
  printf 'lpRemoteName=%s|lpLocalName=%s|dwType=%s|dwAddFlags=%s|' \
    "$lpRemoteName" "$lpLocalName" "$dwType" "$dwAddFlags"
  printf 'lpName=%s|lpProvider=%s|dwFlags=%s|fForce=%s\n' \
    "$lpName" "$lpProvider" "$dwFlags" "$fForce"
}} >> "$LOG"
{body}
"""


def shell_notifyee(
    directory: Path, name: str, body: str = "", mode: int = 0o755
) -> tuple[Path, Path]:
    log = directory / f"{name}.log"
    path = directory / f"{name}.sh"
    path.write_text(SHELL_NOTIFYEE.format(log=log, body=textwrap.dedent(body)))
    os.chmod(path, mode)
    return path, log


def shell_calls(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        out.append(dict(field.split("=", 1) for field in line.split("|")))
    return out


async def test_executable_notifyee_pre_and_post(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    path, log = shell_notifyee(
        ndir,
        "audit",
        """
        if [ "$OPENRAS_NOTIFY_STATUS" = PRE ]; then echo "lpContext=ctx-$OPERATION"; fi
        exit 0
    """,
    )
    svc = await mpr_factory(config([("audit", path)]))
    await add(svc.router, smbd.unc, smbd.password, smbd.user, nr.CONNECT_TEMPORARY)
    await svc.router.cancel_connection(ROOT, smbd.unc, 0, True)
    got = shell_calls(log)
    assert [(c["OPERATION"], c["status"], c["dwNotifyStatus"]) for c in got] == [
        ("add", "PRE", "1"),
        ("add", "POST", "2"),
        ("cancel", "PRE", "1"),
        ("cancel", "POST", "2"),
    ]
    assert (
        got[0]["lpRemoteName"] == smbd.unc
        and got[0]["dwType"] == "1"
        and got[0]["dwAddFlags"] == "4"
    )
    assert (
        got[0]["lpContext"] == ""
        and got[1]["lpContext"] == "ctx-add"
        and got[1]["dwOperationStatus"] == "0"
    )
    assert got[2]["lpName"] == smbd.unc and got[2]["lpProvider"] == "" and got[2]["fForce"] == "1"
    assert got[3]["lpProvider"] == "openras SMB" and got[3]["lpContext"] == "ctx-cancel"


async def test_executable_notifyee_exit_1_is_wn_cancel(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    path, log = shell_notifyee(ndir, "veto", "echo lpContext=ignored\nexit 1\n")
    svc = await mpr_factory(config([("veto", path)]))
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_CANCELLED
    assert [c["status"] for c in shell_calls(log)] == ["PRE"]
    assert svc.router.list_connections(ROOT) == []


async def test_executable_notifyee_status_line(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    path, _ = shell_notifyee(ndir, "deny", "echo status=ERROR_LOGON_FAILURE\nexit 0\n")
    svc = await mpr_factory(config([("deny", path)]))
    with pytest.raises(MprError) as e:
        await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert e.value.code == ErrorCode.ERROR_LOGON_FAILURE


async def test_executable_notifyee_retry_brings_the_path_up(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    """The classic, in shell: the name's port is closed; the notifyee starts a forwarder to the
    server there (socat, left running, its PID in a file) and exits 2 = WN_RETRY."""
    import shutil

    socat = shutil.which("socat")
    from peers import require

    require(socat is not None, "socat is not installed")
    port = free_port()
    pidfile = ndir / "socat.pid"
    path, log = shell_notifyee(
        ndir,
        "starter",
        f"""
        if [ "$OPENRAS_NOTIFY_STATUS" = PRE ]; then echo lpContext=waiting; exit 0; fi
        if [ "$dwOperationStatus" != 0 ] && [ ! -e {pidfile} ]; then
          {socat} TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:{smbd.port} \\
            </dev/null >/dev/null 2>&1 &
          echo $! > {pidfile}
          i=0
          while [ $i -lt 100 ] && ! (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; do
            sleep 0.05; i=$((i+1))
          done
          exit 2
        fi
        exit 0
    """,
    )
    # /dev/tcp is a bashism: run the script with bash.
    path.write_text(path.read_text().replace("#!/bin/sh", "#!/bin/bash", 1))
    svc = await mpr_factory(config([("starter", path)], timeout=20))
    unc = rf"\\127.0.0.1@{port}\{smbd.share}"
    try:
        out = await add(svc.router, unc, smbd.password, smbd.user)
        assert out["provider"] == "openras SMB"
        assert [(c["status"], c["dwOperationStatus"]) for c in shell_calls(log)] == [
            ("PRE", "0"),
            ("POST", "67"),
            ("POST", "0"),
        ]
        await svc.router.cancel_connection(ROOT, unc, 0, True)
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)


async def test_raising_and_hanging_notifyees_do_not_stop_mapping(
    mpr_factory: Any, smbd: Any, ndir: Path
) -> None:
    raising, _ = notifyee(
        ndir,
        "raising",
        """
        def answer(fn, info, obj):
            raise ValueError("boom")
    """,
    )
    hanging, _ = notifyee(
        ndir,
        "hanging",
        """
        import time
        def answer(fn, info, obj):
            time.sleep(3600)
    """,
    )
    sleeper, _ = shell_notifyee(ndir, "sleeper", "exec sleep 3600\n")
    good, log = notifyee(ndir, "good")
    svc = await mpr_factory(
        config(
            [("raising", raising), ("hanging", hanging), ("sleeper", sleeper), ("good", good)],
            timeout=0.5,
        )
    )
    # The sleeper would hold the add for an hour (past the suite's per-test time-out) if its
    # time-out did not abandon it.
    out = await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert out["provider"] == "openras SMB"
    reported = {(e["notifyee"], e["phase"]) for e in out["notifyee_errors"]}
    assert reported == {("raising", "pre"), ("hanging", "pre"), ("sleeper", "pre")}
    by_name = {e["notifyee"]: e["error"] for e in out["notifyee_errors"]}
    assert "ValueError" in by_name["raising"] and "timed out" in by_name["hanging"]
    assert "timed out" in by_name["sleeper"]
    assert [c["dwNotifyStatus"] for c in calls(log)] == [1, 2]  # the good one saw both calls
    kinds = [e for e in logged_events(svc.ctx.store) if e["kind"] == "notifyee"]
    assert {(e["notifyee"], e["operation"], e["phase"]) for e in kinds} == {
        ("raising", "add", "pre"),
        ("hanging", "add", "pre"),
        ("sleeper", "add", "pre"),
    }
    # The hung Python notifyee is skipped (not called again) while its thread still runs.
    out = await svc.router.cancel_connection(ROOT, smbd.unc)
    by_name = {e["notifyee"]: e["error"] for e in out["notifyee_errors"]}
    assert "not returned" in by_name["hanging"]


@pytest.mark.parametrize(
    "how", ["group-writable", "world-writable", "dir-group-writable", "other-owner"]
)
async def test_insecure_notifyee_is_skipped_and_reported(
    mpr_factory: Any, smbd: Any, ndir: Path, how: str
) -> None:
    d = ndir / "sub"
    d.mkdir(mode=0o755)
    path, log = notifyee(d, "unsafe")
    if how == "group-writable":
        os.chmod(path, 0o664)
    elif how == "world-writable":
        os.chmod(path, 0o646)
    elif how == "dir-group-writable":
        os.chmod(d, 0o775)
    else:
        os.chown(path, 40001, 40001)
    svc = await mpr_factory(config([("unsafe", path)]))
    out = await add(svc.router, smbd.unc, smbd.password, smbd.user)
    assert out["provider"] == "openras SMB"
    assert not log.exists()  # never called
    assert [(e["notifyee"], e["phase"]) for e in out["notifyee_errors"]] == [("unsafe", "pre")]
    assert "insecure" in out["notifyee_errors"][0]["error"]
    assert any(e["kind"] == "notifyee" for e in logged_events(svc.ctx.store))


async def test_rejected_requests_notify_nobody(mpr_factory: Any, smbd: Any, ndir: Path) -> None:
    path, log = notifyee(ndir, "audit")
    svc = await mpr_factory(config([("audit", path)]))
    r = svc.router
    cases = [
        (NETRESOURCE(dwType=1, lpRemoteName=""), 0, ErrorCode.ERROR_INVALID_PARAMETER),
        (NETRESOURCE(dwType=1, lpRemoteName=None), 0, ErrorCode.ERROR_INVALID_PARAMETER),
        (
            NETRESOURCE(dwType=1, lpRemoteName=smbd.unc),
            0x80000000,
            ErrorCode.ERROR_INVALID_PARAMETER,
        ),
        (NETRESOURCE(dwType=7, lpRemoteName=smbd.unc), 0, ErrorCode.ERROR_INVALID_PARAMETER),
        (NETRESOURCE(dwType=2, lpRemoteName=smbd.unc), 0, ErrorCode.ERROR_BAD_DEV_TYPE),
        (
            NETRESOURCE(dwType=1, lpRemoteName=smbd.unc, lpProvider="Microsoft Windows Network"),
            0,
            ErrorCode.ERROR_BAD_PROVIDER,
        ),
        (
            NETRESOURCE(dwType=1, lpRemoteName=smbd.unc, lpLocalName="relative/dir"),
            0,
            ErrorCode.ERROR_BAD_DEVICE,
        ),
        (
            NETRESOURCE(dwType=1, lpRemoteName=smbd.unc, lpLocalName="/nonexistent/dir"),
            0,
            ErrorCode.ERROR_BAD_DEVICE,
        ),
        (
            NETRESOURCE(dwType=1, lpRemoteName=smbd.unc, lpLocalName="ZZ:"),
            0,
            ErrorCode.ERROR_BAD_DEVICE,
        ),
    ]
    for resource, flags, code in cases:
        with pytest.raises(RasError) as e:
            await r.add_connection(ROOT, resource, smbd.password, smbd.user, flags)
        assert e.value.code == code, resource
    for name, flags, code in [
        ("", 0, ErrorCode.ERROR_INVALID_PARAMETER),
        (smbd.unc, 0x40000000, ErrorCode.ERROR_INVALID_PARAMETER),
        (smbd.unc, 0, ErrorCode.ERROR_NOT_CONNECTED),
        ("Q:", 0, ErrorCode.ERROR_NOT_CONNECTED),
    ]:
        with pytest.raises(RasError) as e:
            await r.cancel_connection(ROOT, name, flags)
        assert e.value.code == code
    assert calls(log) == []


def test_file_checks_follow_symlinks(tmp_path: Path) -> None:
    from openras.mpr.notifyees import NotifyeeFailure, check_secure

    safe = tmp_path / "safe"
    safe.mkdir(mode=0o755)
    target = safe / "n.py"
    target.write_text("")
    target.chmod(0o644)
    check_secure(str(target), 0)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link = safe / "link.py"
    (shared / "evil.py").write_text("")
    (shared / "evil.py").chmod(0o644)
    link.symlink_to(shared / "evil.py")
    with pytest.raises(NotifyeeFailure, match="insecure"):
        check_secure(str(link), 0)
    assert stat.S_ISLNK(os.lstat(link).st_mode)
    with pytest.raises(NotifyeeFailure):
        check_secure("relative.py", 0)


async def test_executable_path_is_never_given_to_a_shell(ndir: Path) -> None:
    """An executable notifyee's path is argv[0]: a name with shell syntax is just a file name."""
    from openras.mpr.notifyees import NOTIFYADD, NOTIFYINFO, ExecutableNotifyee

    marker = Path("/") / f"openras-pwned-{os.getpid()}"  # the notifyee's cwd is /
    path = ndir / f"n; touch {marker.name}"
    path.write_text("#!/bin/sh\necho lpContext=ran\nexit 0\n")
    path.chmod(0o755)
    info = NOTIFYINFO(nr.NOTIFY_PRE, 0)
    code = await ExecutableNotifyee("x", str(path), 0, 5.0).call(
        "add", info, NOTIFYADD(None, NETRESOURCE(lpRemoteName="$(touch /x)"), 0)
    )
    assert code == 0 and info.lpContext == "ran"
    assert not marker.exists()
