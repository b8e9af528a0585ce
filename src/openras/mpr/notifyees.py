"""Connection notifyees: the analogue of the DLLs under ``NetworkProvider\\Notifyees``.

Registration is ``[notifyees] name = "/path"`` in openras.toml; the order of the table is the
registration order. Semantics follow reference/mpr.md §1 exactly:

* pre calls (``NOTIFY_PRE``) go to the notifyees in *reverse* registration order, with
  ``dwOperationStatus`` = WN.WN_SUCCESS and ``lpContext`` = None;
* a notifyee that leaves ``lpContext`` None gets no post call for that operation;
* in the pre call WN.WN_SUCCESS and WN.WN_RETRY let the operation go on; WN.WN_CANCEL or any other
  code stops it: it is not attempted, the caller gets that code, that notifyee gets no post
  call and the notifyees not yet pre-called are not called at all. Those already
  pre-notified with a context still get their post call, with that code as
  ``dwOperationStatus`` (so they can release what they set up);
* post calls (``NOTIFY_POST``) go in the reverse of the pre order, i.e. registration order,
  with the operation's status. After a success every answer is ignored. After a failure
  WN.WN_CANCEL turns the result into 1223, another non-zero code replaces it, and WN.WN_RETRY
  attempts the operation again (only if it was attempted at all: a notifyee's veto is not
  retried). On a retry nobody is pre-notified again; the post walk starts over from the
  first notifyee with the new status, so the one that asked for the retry sees whether it
  worked, and later ones see only the final outcome. Retries are bounded
  (``[mpr] notifyee_max_retries``, default 10); past that WN.WN_RETRY counts as WN.WN_SUCCESS.
* A request the router rejects itself (bad parameters) notifies nobody, and the automatic
  restore of remembered connections never calls notifyees.

Python notifyees (a path ending in ``.py``) export ``AddConnectNotify(info, add)`` and
``CancelConnectNotify(info, cancel)`` taking objects with the Windows field names
(:class:`NOTIFYINFO`, :class:`NOTIFYADD`, :class:`NOTIFYCANCEL`) and returning a code
(None counts as WN.WN_SUCCESS). Beyond Windows, ``info.caller_uid`` / ``info.caller_pid`` say
who asked (on Windows the notifyee runs in the caller's process and knows that anyway).
A missing function means "not interested": it is not called.
They run in the daemon process, like a DLL in Windows, so a module keeps its globals between
calls and ``lpContext`` can be any object. Each call runs in its own thread with a time-out
(``[mpr] notifyee_timeout``, default 10 s). A call that times out is abandoned (Python cannot
kill a thread) and the notifyee is skipped until that thread ends, so a notifyee that hangs
costs at most one thread and the operation goes on. A subprocess per call would make hangs
killable, but could not carry an arbitrary ``lpContext`` or module state from the pre to the
post call, which is what the Windows contract promises; notifyees are admin-installed code
owned by the daemon's user, the same trust as a DLL in the MPR.

Executable notifyees (any other path; must be executable) run as ``argv = [path]`` (never a
shell) with stdin from /dev/null, cwd ``/``, in their own session (killed as a group on
time-out), and a clean environment: ``PATH``, ``OPENRAS_HOME`` when the daemon has one, and

======================  =========================================================
OPERATION               ``add`` or ``cancel``
OPENRAS_NOTIFY_STATUS   ``PRE`` or ``POST``
dwNotifyStatus          1 (pre) or 2 (post)
dwOperationStatus       0 in the pre call; the operation's status in the post call
lpContext               what this notifyee printed in its pre call (post only)
OPENRAS_CALLER_UID/PID  the requesting client
hwndOwner, lpRemoteName, lpLocalName, dwType, dwAddFlags           (add)
lpName, lpProvider, dwFlags, fForce (0/1)                          (cancel)
======================  =========================================================

Absent values are empty strings. The answer is, in order of precedence:

1. a line ``status=CODE`` on stdout (decimal, or a name such as ``WN.WN_RETRY`` or
   ``ERROR_LOGON_FAILURE``) — the only way to answer a code above 255;
2. otherwise the exit status: 0 = WN.WN_SUCCESS, 1 = WN.WN_CANCEL (1223, a veto, as a failing
   hook vetoes in git), 2 = WN.WN_RETRY (1237), 3–125 = that Win32 code itself (e.g. 5 =
   ERROR_ACCESS_DENIED, 67 = ERROR_BAD_NET_NAME).

Exit statuses 126–255 (the shell's "cannot execute" / "not found" / killed-by-signal) and
death by a signal count as a notifyee failure: skipped and reported, like a Python exception.
A line ``lpContext=VALUE`` on stdout sets the context (a string; an empty value clears it).
Without one in the pre call the notifyee gets no post call, exactly as for a Python notifyee;
in a post call the context it had is kept unless it prints a new one. stdout is read from a
file, not a pipe, so a daemon the notifyee leaves running (e.g. a server it starts) cannot hold
the call open.

Every notifyee is checked before each call: its file (and its real path when it is a
symlink) must be a regular file owned by the daemon's uid (or root) and not group- or
world-writable; its directory likewise; directories further up must be owned by the daemon's
uid or root and not group/world-writable unless sticky (as /tmp). A notifyee that fails the
check, raises, times out or answers nonsense is skipped for that call, logged, published as
an event of kind ``notifyee`` and listed in the operation's ``notifyee_errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
import tempfile
import threading
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..codes import WN, ErrorCode
from ..events import EventBus, NotifyeeReport
from ..timeouts import within
from .netresource import NETRESOURCE, NOTIFY_POST, NOTIFY_PRE

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 10
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_OUTPUT = 64 * 1024
_NOT_EXPORTED = object()


# -- the structures notifyees receive ------------------------------------------------------
@dataclass
class NOTIFYINFO:
    dwNotifyStatus: int
    dwOperationStatus: int
    lpContext: Any = None
    # Beyond Windows (where the notifyee runs in the caller's process): who asked.
    caller_uid: int = -1
    caller_pid: int = 0


@dataclass
class NOTIFYADD:
    hwndOwner: int | None
    NetResource: NETRESOURCE
    dwAddFlags: int


@dataclass
class NOTIFYCANCEL:
    lpName: str
    lpProvider: str | None
    dwFlags: int
    fForce: bool


Payload = NOTIFYADD | NOTIFYCANCEL


class NotifyeeFailure(Exception):
    """This notifyee could not give an answer (insecure, raised, timed out, bad output)."""


@dataclass
class NotifyeeError:
    notifyee: str
    path: str
    operation: str  # add / cancel
    phase: str  # pre / post
    error: str

    def to_json(self) -> dict[str, str]:
        return {
            "notifyee": self.notifyee,
            "path": self.path,
            "operation": self.operation,
            "phase": self.phase,
            "error": self.error,
        }


# -- file checks ---------------------------------------------------------------------------
def _check_owner_mode(
    path: str, st: os.stat_result, daemon_uid: int, what: str, sticky_ok: bool
) -> None:
    if st.st_uid not in (daemon_uid, 0):
        raise NotifyeeFailure(
            f"insecure: {what} {path} is owned by uid {st.st_uid}, not the daemon's"
        )
    if st.st_mode & 0o022 and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        raise NotifyeeFailure(f"insecure: {what} {path} is group- or world-writable")


def check_secure(path: str, daemon_uid: int) -> os.stat_result:
    """Raise NotifyeeFailure unless nobody but the daemon's user (or root) can change ``path``.

    Blocking (a stat of every directory up to /): from async code, through a thread.
    """
    if not os.path.isabs(path):
        raise NotifyeeFailure(f"not an absolute path: {path}")
    chains = [os.path.normpath(path)]
    real = os.path.realpath(path)
    if real != chains[0]:
        chains.append(real)  # a symlink: both where it sits and what it points to must be safe
    result: os.stat_result | None = None
    for candidate in chains:
        try:
            st = os.stat(candidate)
        except OSError as exc:
            raise NotifyeeFailure(f"cannot stat {candidate}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise NotifyeeFailure(f"not a regular file: {candidate}")
        _check_owner_mode(candidate, st, daemon_uid, "file", sticky_ok=False)
        directory = os.path.dirname(candidate)
        first = True
        while True:
            try:
                dst = os.stat(directory)
            except OSError as exc:
                raise NotifyeeFailure(f"cannot stat {directory}: {exc.strerror}") from None
            # The notifyee's own directory may not be writable by others even if sticky:
            # anyone could drop a file there; above it, sticky (e.g. /tmp) is safe.
            _check_owner_mode(directory, dst, daemon_uid, "directory", sticky_ok=not first)
            first = False
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        result = result or st
    assert result is not None
    return result


# -- notifyee kinds ------------------------------------------------------------------------
class Notifyee:
    kind = "?"

    def __init__(self, name: str, path: str, daemon_uid: int, timeout: float) -> None:
        self.name = name
        self.path = path
        self.daemon_uid = daemon_uid
        self.timeout = timeout

    async def call(self, operation: str, info: NOTIFYINFO, payload: Payload) -> int | None:
        """The notifyee's answer (None = not interested); updates ``info.lpContext``."""
        raise NotImplementedError


class PythonNotifyee(Notifyee):
    kind = "python"

    def __init__(self, name: str, path: str, daemon_uid: int, timeout: float) -> None:
        super().__init__(name, path, daemon_uid, timeout)
        self._module: types.ModuleType | None = None
        self._stamp: tuple[int, int, int, int] | None = None
        self._load_lock = threading.Lock()
        self._hung: threading.Thread | None = None

    def _load(self) -> types.ModuleType:
        """Import the file (again when it changed), reading it through the checked descriptor."""
        with self._load_lock:
            fd = os.open(os.path.realpath(self.path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                st = os.fstat(fd)
                _check_owner_mode(self.path, st, self.daemon_uid, "file", sticky_ok=False)
                stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                if self._module is not None and stamp == self._stamp:
                    return self._module
                with os.fdopen(os.dup(fd), "rb") as f:
                    source = f.read()
            finally:
                os.close(fd)
            code = compile(source, self.path, "exec")
            modname = f"openras_notifyee_{abs(hash((self.name, self.path)))}"
            module = types.ModuleType(modname)
            module.__file__ = self.path
            # Registered so that dataclasses, pickle and friends work inside the notifyee.
            sys.modules[modname] = module
            exec(code, module.__dict__)
            self._module, self._stamp = module, stamp
            return module

    def _invoke(self, function: str, info: NOTIFYINFO, payload: Payload) -> Any:
        module = self._load()
        func = getattr(module, function, None)
        if func is None:
            return _NOT_EXPORTED
        return func(info, payload)

    async def call(self, operation: str, info: NOTIFYINFO, payload: Payload) -> int | None:
        if self._hung is not None:
            if self._hung.is_alive():
                raise NotifyeeFailure("skipped: a previous call has not returned yet")
            self._hung = None
        await asyncio.to_thread(check_secure, self.path, self.daemon_uid)
        function = "AddConnectNotify" if operation == "add" else "CancelConnectNotify"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def deliver(setter: Callable[[Any], None], value: Any) -> None:
            if not future.done():
                setter(value)

        def work() -> None:
            try:
                value = self._invoke(function, info, payload)
            except BaseException as exc:
                # SystemExit & co. must not travel into the event loop, where asyncio
                # re-raises them.
                if not isinstance(exc, Exception):
                    exc = RuntimeError(f"{type(exc).__name__}: {exc}")
                outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
            else:
                outcome = (future.set_result, value)
            # The loop may be gone when an abandoned call finally returns.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, *outcome)

        thread = threading.Thread(target=work, name=f"notifyee-{self.name}", daemon=True)
        thread.start()
        try:
            value = await within(asyncio.shield(future), self.timeout)
        except TimeoutError:
            self._hung = thread
            raise NotifyeeFailure(f"timed out after {self.timeout:g} s") from None
        except NotifyeeFailure:
            raise
        except Exception as exc:
            raise NotifyeeFailure(f"raised {type(exc).__name__}: {exc}") from None
        if value is _NOT_EXPORTED:
            return None
        if value is None:
            return WN.WN_SUCCESS
        if isinstance(value, bool) or not isinstance(value, int):
            raise NotifyeeFailure(f"{function} returned {type(value).__name__}, not a code")
        return value


def _parse_code(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    name = text.upper()
    for enum in (WN, ErrorCode):
        if name in enum.__members__:
            return int(enum[name])
    raise NotifyeeFailure(f"unknown status {text[:40]!r}")


class ExecutableNotifyee(Notifyee):
    kind = "executable"

    def environment(self, operation: str, info: NOTIFYINFO, payload: Payload) -> dict[str, str]:
        env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8"}
        if os.environ.get("OPENRAS_HOME"):
            env["OPENRAS_HOME"] = os.environ["OPENRAS_HOME"]

        def s(value: Any) -> str:
            if value is None:
                return ""
            if isinstance(value, bool):
                return "1" if value else "0"
            return str(value)

        env.update(
            {
                "OPERATION": operation,
                "OPENRAS_NOTIFY_STATUS": "PRE" if info.dwNotifyStatus == NOTIFY_PRE else "POST",
                "dwNotifyStatus": s(info.dwNotifyStatus),
                "dwOperationStatus": s(info.dwOperationStatus),
                "lpContext": s(info.lpContext),
                "OPENRAS_CALLER_UID": s(info.caller_uid),
                "OPENRAS_CALLER_PID": s(info.caller_pid),
            }
        )
        if isinstance(payload, NOTIFYADD):
            env.update(
                {
                    "hwndOwner": s(payload.hwndOwner),
                    "lpRemoteName": s(payload.NetResource.lpRemoteName),
                    "lpLocalName": s(payload.NetResource.lpLocalName),
                    "dwType": s(payload.NetResource.dwType),
                    "dwAddFlags": s(payload.dwAddFlags),
                }
            )
        else:
            env.update(
                {
                    "lpName": s(payload.lpName),
                    "lpProvider": s(payload.lpProvider),
                    "dwFlags": s(payload.dwFlags),
                    "fForce": s(payload.fForce),
                }
            )
        # NUL cannot be passed in the environment; such a name never reaches here (validated).
        return {k: v.replace("\0", "") for k, v in env.items()}

    async def call(self, operation: str, info: NOTIFYINFO, payload: Payload) -> int | None:
        st = await asyncio.to_thread(check_secure, self.path, self.daemon_uid)
        if not st.st_mode & 0o111:
            raise NotifyeeFailure("not executable")
        env = self.environment(operation, info, payload)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = await asyncio.create_subprocess_exec(
                    self.path,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd="/",
                    start_new_session=True,
                )
            except OSError as exc:
                raise NotifyeeFailure(f"cannot run: {exc.strerror}") from None
            try:
                rc = await within(proc.wait(), self.timeout)
            except (TimeoutError, asyncio.CancelledError) as exc:
                # Its own session: the group is the one it was started in, nobody else's.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise NotifyeeFailure(f"timed out after {self.timeout:g} s") from None
            out.seek(0)
            stdout = out.read(MAX_OUTPUT).decode("utf-8", "replace")
            err.seek(0)
            stderr = err.read(2048).decode("utf-8", "replace").strip()
        status: int | None = None
        context: str | None = info.lpContext  # kept unless the notifyee prints a new one
        for line in stdout.splitlines():
            key, sep, value = line.partition("=")
            if not sep:
                continue
            if key.strip() == "status":
                status = _parse_code(value)
            elif key.strip() == "lpContext":
                context = value
        if status is None:
            if rc < 0 or rc >= 126:
                how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
                raise NotifyeeFailure(f"failed ({how})" + (f": {stderr[:300]}" if stderr else ""))
            status = {0: WN.WN_SUCCESS, 1: WN.WN_CANCEL, 2: WN.WN_RETRY}.get(rc, rc)
        info.lpContext = context or None
        return status


def make_notifyee(name: str, path: str, daemon_uid: int, timeout: float) -> Notifyee:
    cls = PythonNotifyee if path.endswith(".py") else ExecutableNotifyee
    return cls(name, path, daemon_uid, timeout)


# -- the protocol around one operation -----------------------------------------------------
PayloadFactory = Callable[[int], Payload]  # dwNotifyStatus -> a fresh payload for that call


@dataclass
class Outcome:
    status: int
    errors: list[NotifyeeError] = field(default_factory=list)
    attempts: int = 0


class Notifyees:
    def __init__(
        self,
        registrations: dict[str, str],
        daemon_uid: int,
        events: EventBus | None = None,
        log: logging.Logger | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self.items = [
            make_notifyee(name, path, daemon_uid, timeout) for name, path in registrations.items()
        ]
        self.events = events
        self.log = log or logging.getLogger("openras.mpr.notifyees")
        self.max_retries = max_retries

    async def check_all(self) -> list[str]:
        """Log (at start-up) the notifyees that will be skipped; returns the problems."""
        problems = []
        for n in self.items:
            try:
                await asyncio.to_thread(check_secure, n.path, n.daemon_uid)
            except NotifyeeFailure as exc:
                problems.append(f"{n.name}: {exc}")
                self.log.warning("notifyee %s (%s) will be skipped: %s", n.name, n.path, exc)
        return problems

    def _failed(
        self,
        n: Notifyee,
        operation: str,
        phase: str,
        exc: NotifyeeFailure,
        errs: list[NotifyeeError],
    ) -> None:
        error = NotifyeeError(n.name, n.path, operation, phase, str(exc))
        errs.append(error)
        self.log.warning("notifyee %s (%s), %s %s call: %s", n.name, n.path, operation, phase, exc)
        if self.events is not None:
            self.events.publish(
                NotifyeeReport(
                    notifyee=error.notifyee,
                    path=error.path,
                    operation=operation,
                    phase=phase,
                    error=error.error,
                )
            )

    async def run(
        self,
        operation: str,
        payload: PayloadFactory,
        attempt: Callable[[], Awaitable[int]],
        caller: tuple[int, int] = (-1, 0),
    ) -> Outcome:
        """Pre-notify, attempt (and retry), post-notify; the operation's final status."""
        out = Outcome(WN.WN_SUCCESS)
        uid, pid = caller
        post: list[tuple[Notifyee, Any]] = []  # in pre order
        vetoed = False
        for n in reversed(self.items):
            info = NOTIFYINFO(NOTIFY_PRE, WN.WN_SUCCESS, None, uid, pid)
            try:
                code = await n.call(operation, info, payload(NOTIFY_PRE))
            except NotifyeeFailure as exc:
                self._failed(n, operation, "pre", exc, out.errors)
                continue
            if code is None:
                continue
            if code in (WN.WN_SUCCESS, WN.WN_RETRY):
                if info.lpContext is not None:
                    post.append((n, info.lpContext))
                continue
            out.status, vetoed = code, True
            break
        if not vetoed:
            out.status = await attempt()
            out.attempts = 1
        pending = list(reversed(post))  # post calls: the reverse of the pre order
        while True:
            retry = False
            for i, (n, context) in enumerate(pending):
                if context is None:
                    continue
                info = NOTIFYINFO(NOTIFY_POST, out.status, context, uid, pid)
                try:
                    code = await n.call(operation, info, payload(NOTIFY_POST))
                except NotifyeeFailure as exc:
                    self._failed(n, operation, "post", exc, out.errors)
                    continue
                pending[i] = (n, info.lpContext)
                if out.status == WN.WN_SUCCESS or code in (None, WN.WN_SUCCESS):
                    continue  # after a success every answer is ignored
                if code == WN.WN_CANCEL:
                    out.status = WN.WN_CANCEL
                elif code == WN.WN_RETRY:
                    if not vetoed and out.attempts <= self.max_retries:
                        retry = True
                        break
                else:
                    out.status = code
            if not retry:
                return out
            out.status = await attempt()
            out.attempts += 1
