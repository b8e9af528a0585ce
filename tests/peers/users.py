"""Run client processes as other Unix uids (multi-user tests).

Use ``CLIENT_UIDS`` (40001 and 40002): numeric ids need no passwd entry, since
``subprocess`` takes ``user=``/``group=`` as numbers and ``extra_groups=[]`` drops root's
supplementary groups. The sshd test user is 40100 (see ``peers.sshd``), kept apart so
"another uid" never silently means "the SSH user".

The venv is built on Debian's /usr/bin/python3 and lives under 0755 directories, so these
uids can run ``.venv/bin/python`` directly; :func:`venv_usable_by` checks it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import require

CLIENT_UIDS: tuple[int, int] = (40001, 40002)


def _environment(uid: int, env: Mapping[str, str] | None) -> dict[str, str]:
    """env (default: ours) fitted to uid: HOME, USER and LOGNAME must not point at root's.

    A passwd-less uid has no name, and getpass.getuser() (asyncssh calls it for the default
    local user name) raises unless USER/LOGNAME is set: give it ``u<uid>``.
    """
    environment = dict(os.environ if env is None else env)
    explicit = env if env is not None else {}
    for key, value in (("HOME", "/tmp"), ("USER", f"u{uid}"), ("LOGNAME", f"u{uid}")):
        if key not in explicit:
            environment[key] = value
    environment.pop("PYTHONPATH", None)  # the caller's paths may not be readable by uid
    return environment


def run_as(
    uid: int,
    gid: int | None,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 60,
    input: str | None = None,
    cwd: str = "/",
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run argv as uid:gid (gid defaults to uid) with no supplementary groups; capture text output.

    cwd defaults to "/" because the caller's directory may not be readable by that uid;
    HOME, USER and LOGNAME are set for uid unless env gives them.
    """
    return subprocess.run(
        list(argv),
        env=_environment(uid, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        cwd=cwd,
        check=check,
        user=uid,
        group=uid if gid is None else gid,
        extra_groups=[],
    )


def popen_as(
    uid: int,
    gid: int | None,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    **kwargs: object,
) -> subprocess.Popen[bytes]:
    """Start argv as uid:gid in its own session (stop it by PID/process group)."""
    return subprocess.Popen(
        list(argv),
        env=_environment(uid, env),
        user=uid,
        group=uid if gid is None else gid,
        extra_groups=[],
        start_new_session=True,
        cwd=kwargs.pop("cwd", "/"),
        **kwargs,
    )  # type: ignore[call-overload]


def _world_traversable(path: Path) -> bool:
    """True when every directory from / down to path is searchable by any uid."""
    p = path.resolve()
    for d in [*reversed(p.parents), p]:
        mode = d.stat().st_mode
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    return True


def venv_usable_by(uid: int, python: str = sys.executable) -> tuple[bool, str]:
    """(ok, detail): can uid run this interpreter and import openras?"""
    try:
        r = run_as(uid, uid, [python, "-c", "import openras, sys; print(sys.prefix)"], timeout=60)
    except OSError as e:
        return False, str(e)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def require_other_uids() -> tuple[int, int]:
    """The two client uids, after checking that root can switch to them and they can run the
    venv."""
    require(os.geteuid() == 0, "running clients as other uids needs root")
    require(
        _world_traversable(Path(sys.executable).parent),
        f"{sys.executable} is not reachable by other uids (a directory on its path lacks o+x)",
    )
    ok, detail = venv_usable_by(CLIENT_UIDS[0])
    require(ok, f"uid {CLIENT_UIDS[0]} cannot run {sys.executable}: {detail}")
    return CLIENT_UIDS
