"""Per-connection hooks: executables run around a connection's life.

Layout (run-parts style): ``<config dir>/hooks/<stage>.d/*`` where ``<stage>`` is ``pre-up``,
``up``, ``pre-down``, ``down`` or ``dial-failed``; the files of a stage run one after another
in the byte order of their names. Names starting with ``.`` or ending in ``~`` (editor and
package-manager leftovers) and files without an execute bit are ignored. ``[hooks]`` in
openras.toml may set ``directory`` (another hooks directory) and ``timeout`` (seconds per hook,
default 30).

* Each connection has its own queue: its hooks run in the order they were asked for; hooks of
  other connections run at the same time, never behind them.
* A hook that runs past the time-out is killed (its whole process group) and reported.
* A hook not owned by the daemon's user (or root), or writable by group or others — or in such
  a directory — is skipped and reported; the same check as MPR notifyees.
* Every run (and every skip) is published as a :class:`~openras.events.HookRan` event with the
  exit status and the duration.
* The environment holds the connection's fields (``OPENRAS_*``, see :func:`environment`),
  never a password or any other secret, and nothing inherited from the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codes import ErrorCode, RasError, error_name, state_name
from ..events import EventBus, HookOutcome, HookRan, HookStage
from ..mpr.notifyees import SAFE_PATH, NotifyeeFailure, check_secure
from ..timeouts import within
from .records import ConnectionRecord

DEFAULT_TIMEOUT = 30.0
MAX_STDERR = 2048

# A pre-up hook's veto: the dial fails with ERROR_CANCELLED (1223), as a notifyee's veto
# (exit 1 = WN_CANCEL) cancels an MPR operation; a pre-up hook killed after its time-out fails it
# with ERROR_REQUEST_TIMEOUT (638). The event's detail names the hook and its status.
PRE_UP_REFUSED = ErrorCode.ERROR_CANCELLED
PRE_UP_TIMED_OUT = ErrorCode.ERROR_REQUEST_TIMEOUT


@dataclass(frozen=True)
class HookSettings:
    directory: Path
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_config(cls, raw: Mapping[str, Any], config_dir: Path) -> HookSettings:
        section = raw.get("hooks", {})
        if not isinstance(section, dict):
            raise RasError(ErrorCode.ERROR_INVALID_PARAMETER, "[hooks] must be a table")
        directory = section.get("directory", str(config_dir / "hooks"))
        timeout = section.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(directory, str) or not os.path.isabs(directory):
            raise RasError(
                ErrorCode.ERROR_INVALID_PARAMETER, "hooks.directory must be an absolute path"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise RasError(
                ErrorCode.ERROR_INVALID_PARAMETER, "hooks.timeout must be a positive number"
            )
        return cls(Path(directory), float(timeout))


@dataclass(frozen=True)
class HookResult:
    """What one stage's hooks did: the first failing run (if any) decides a pre-up."""

    runs: tuple[HookRan, ...] = ()

    @property
    def failure(self) -> HookRan | None:
        return next(
            (r for r in self.runs if r.outcome in (HookOutcome.FAILED, HookOutcome.TIMED_OUT)),
            None,
        )


@dataclass(frozen=True)
class _Job:
    stage: HookStage
    env: dict[str, str]
    future: asyncio.Future[HookResult]
    after: asyncio.Future[Any] | None  # e.g. the teardown a ``down`` must follow


@dataclass
class _Queue:
    """One connection's hooks, in order."""

    jobs: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


def environment(stage: HookStage, record: ConnectionRecord) -> dict[str, str]:
    """The variables a hook gets: the connection's public fields, nothing secret."""
    link = record.device
    env = {
        "PATH": SAFE_PATH,
        "LANG": "C.UTF-8",
        "OPENRAS_HOOK": stage.value,
        "OPENRAS_HANDLE": str(record.handle),
        "OPENRAS_ENTRY": record.entry,
        "OPENRAS_PHONEBOOK": record.phonebook,
        "OPENRAS_GUID": record.guid,
        "OPENRAS_DEVICE_TYPE": record.device_type,
        "OPENRAS_DEVICE_NAME": record.device_name,
        "OPENRAS_PHONE_NUMBER": record.phone_number,
        "OPENRAS_USER": record.user,
        "OPENRAS_OWNER_UID": str(record.owner_uid),
        "OPENRAS_STATE": str(int(record.state)),
        "OPENRAS_STATE_NAME": state_name(record.state),
        "OPENRAS_ERROR": str(record.error),
        "OPENRAS_ERROR_NAME": error_name(record.error) if record.error else "",
        "OPENRAS_DETAIL": record.detail,
        "OPENRAS_INTERFACE": link.interface or "",
        "OPENRAS_LOCAL_ADDRESS": link.local_address or "",
        "OPENRAS_REMOTE_ADDRESS": link.remote_address or "",
        "OPENRAS_DNS": " ".join(link.dns),
        "OPENRAS_ROUTES": " ".join(link.routes),
        "OPENRAS_SOCKS_HOST": link.socks_host or "",
        "OPENRAS_SOCKS_PORT": str(link.socks_port) if link.socks_port else "",
    }
    if os.environ.get("OPENRAS_HOME"):
        env["OPENRAS_HOME"] = os.environ["OPENRAS_HOME"]
    # NUL cannot be passed in the environment.
    return {k: v.replace("\0", "") for k, v in env.items()}


def _listing(directory: Path) -> list[Path]:
    """The hooks of one stage, in order (blocking: called through a thread)."""
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for name in names:
        if name.startswith(".") or name.endswith("~"):
            continue
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            out.append(path)
    return out


class HookRunner:
    """Runs hooks for every connection: one queue per handle, all queues at once."""

    def __init__(
        self,
        settings: HookSettings,
        events: EventBus,
        daemon_uid: int,
        log: Any,
    ) -> None:
        self.settings = settings
        self.events = events
        self.daemon_uid = daemon_uid
        self.log = log
        self._queues: dict[int, _Queue] = {}
        self._procs: set[int] = set()  # process groups of running hooks (killed at shutdown)
        # The environment of each connection when it came up: ``down`` still names the interface
        # and addresses the link had, after the device has let them go.
        self._up_env: dict[int, dict[str, str]] = {}

    def submit(
        self,
        stage: HookStage,
        record: ConnectionRecord,
        after: asyncio.Future[Any] | None = None,
    ) -> asyncio.Future[HookResult]:
        """Queue ``stage``'s hooks for the connection; the future gives their results.

        The place in the queue is taken now; with ``after`` the hooks wait for it to finish
        (a ``down`` after the link's teardown, still ahead of a redial's ``pre-up``)."""
        env = environment(stage, record)
        handle = record.handle
        if stage is HookStage.UP or stage is HookStage.PRE_UP:
            self._up_env[handle] = env
        elif stage is HookStage.DIAL_FAILED:
            self._up_env.pop(handle, None)  # a refused pre-up: no down will follow
        elif stage is HookStage.DOWN:
            before = self._up_env.pop(handle, {})
            for key in (
                "OPENRAS_INTERFACE",
                "OPENRAS_LOCAL_ADDRESS",
                "OPENRAS_REMOTE_ADDRESS",
                "OPENRAS_DNS",
                "OPENRAS_ROUTES",
                "OPENRAS_SOCKS_HOST",
                "OPENRAS_SOCKS_PORT",
            ):
                if not env.get(key) and before.get(key):
                    env[key] = before[key]
        future: asyncio.Future[HookResult] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(handle)
        if queue is None:
            queue = self._queues[handle] = _Queue()
        queue.jobs.put_nowait(_Job(stage, env, future, after))
        if queue.worker is None or queue.worker.done():
            queue.worker = asyncio.create_task(self._work(handle, queue))
        return future

    async def run(self, stage: HookStage, record: ConnectionRecord) -> HookResult:
        return await self.submit(stage, record)

    async def _work(self, handle: int, queue: _Queue) -> None:
        while not queue.jobs.empty():
            job = queue.jobs.get_nowait()
            stage, future = job.stage, job.future
            try:
                if job.after is not None:
                    await asyncio.wait([job.after])  # its outcome is not ours to report
                result = await self._run_stage(handle, stage, job.env)
            except Exception as exc:  # a bug here must not stop the connection's queue
                self.log.exception("hooks %s of handle %d", stage.value, handle)
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(result)
        if self._queues.get(handle) is queue:
            del self._queues[handle]

    async def _run_stage(self, handle: int, stage: HookStage, env: dict[str, str]) -> HookResult:
        directory = self.settings.directory / f"{stage.value}.d"
        try:
            # Most stages of most installations have no directory: one stat of a local config
            # path tells, instead of a trip to a worker thread on every dial's path.
            os.stat(directory)
        except (FileNotFoundError, NotADirectoryError):
            return HookResult(())
        except OSError:
            pass  # the listing says what it can
        hooks = await asyncio.to_thread(_listing, directory)
        runs = []
        for path in hooks:
            ran = await self._run_one(handle, stage, path, env)
            runs.append(self.events.publish(ran))
            if stage is HookStage.PRE_UP and ran.outcome in (
                HookOutcome.FAILED,
                HookOutcome.TIMED_OUT,
            ):
                break  # the dial fails: later pre-up hooks have nothing to prepare
        return HookResult(tuple(runs))

    async def _run_one(
        self, handle: int, stage: HookStage, path: Path, env: dict[str, str]
    ) -> HookRan:
        def ran(outcome: HookOutcome, started: float, **kw: Any) -> HookRan:
            return HookRan(
                handle=handle,
                entry=env["OPENRAS_ENTRY"],
                stage=stage,
                hook=path.name,
                path=str(path),
                outcome=outcome,
                duration=round(time.monotonic() - started, 6),
                **kw,
            )

        started = time.monotonic()
        try:
            await asyncio.to_thread(check_secure, str(path), self.daemon_uid)
        except NotifyeeFailure as exc:
            self.log.warning("hook %s skipped: %s", path, exc)
            return ran(HookOutcome.SKIPPED, started, detail=str(exc))
        timeout = self.settings.timeout
        with tempfile.TemporaryFile() as err:
            try:
                proc = await asyncio.create_subprocess_exec(
                    str(path),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=err,
                    env=env,
                    cwd="/",
                    start_new_session=True,  # its own group, killed whole at the time-out
                )
            except OSError as exc:
                return ran(HookOutcome.SKIPPED, started, detail=f"cannot run: {exc.strerror}")
            self._procs.add(proc.pid)
            try:
                rc = await within(proc.wait(), timeout)
            except (TimeoutError, asyncio.CancelledError) as exc:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                rc = await proc.wait()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                self.log.warning("hook %s killed after %g s", path, timeout)
                return ran(
                    HookOutcome.TIMED_OUT,
                    started,
                    exit_status=rc,
                    detail=f"killed after the time-out of {timeout:g} s",
                )
            finally:
                self._procs.discard(proc.pid)
            err.seek(0)
            stderr = err.read(MAX_STDERR).decode("utf-8", "replace").strip()
        outcome = HookOutcome.OK if rc == 0 else HookOutcome.FAILED
        if outcome is HookOutcome.FAILED:
            how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
            self.log.info("hook %s (%s, handle %d): %s", path.name, stage.value, handle, how)
        return ran(outcome, started, exit_status=rc, detail=stderr[:300])

    async def stop(self, grace: float) -> None:
        """Shutdown: let queued hooks (the ``down`` of every link) finish, within ``grace`` s."""
        workers = [q.worker for q in self._queues.values() if q.worker is not None]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=grace)
            for task in pending:
                task.cancel()  # kills the running hook's group
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)


def refusal(stage_result: HookResult) -> RasError | None:
    """The error a failed pre-up stage fails its dial with, or None."""
    failed = stage_result.failure
    if failed is None:
        return None
    if failed.outcome is HookOutcome.TIMED_OUT:
        return RasError(PRE_UP_TIMED_OUT, f"pre-up hook {failed.hook} timed out")
    how = (
        f"killed by signal {-failed.exit_status}"
        if failed.exit_status is not None and failed.exit_status < 0
        else f"exit status {failed.exit_status}"
    )
    tail = f": {failed.detail}" if failed.detail else ""
    return RasError(PRE_UP_REFUSED, f"pre-up hook {failed.hook} refused ({how}){tail}")
