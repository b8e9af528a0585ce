"""The connection manager: handles, the RASCS state machine, notifications, reference counts.

Every change of a handle goes through :meth:`ConnectionManager._fire`, which checks it against the
table in :mod:`.transitions`, applies it, publishes its event and persists the record. ``notify``
marks the events that RasConnectionNotification reports (connection, disconnection).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..codes import RASCS, ErrorCode, RasError, error_name, state_name
from ..codes.states import RASCF_AllUsers, RASCF_OwnerKnown, RASCF_OwnerMatch
from ..context import DaemonContext
from ..events.types import ConnectionEvent, HookStage, Notify, Phase
from ..phonebook import Entry
from ..timeouts import within
from ..users import is_privileged
from . import redial
from .connection import Connection, Reference
from .devices.base import Device, DialContext, DialParams, HandleLog
from .hooks import HookRunner, HookSettings, refusal
from .processes import ProcessRef
from .records import (
    ConnectionRecord,
    DialStarted,
    HangupStarted,
    LinkStatistics,
    LinkStatus,
    Projection,
    RasConn,
    decode_status,
    encode_record,
)
from .sharing import check_join, ends_link, for_all_users
from .transitions import EVENTS, Trigger, next_phase

TEARDOWN_TIMEOUT = 15.0
RasConns = list[RasConn]  # named here: the class's list() method shadows the builtin
DeviceFactory = Callable[[DialContext], Device]


@dataclass(frozen=True)
class DialRequest:
    entry: Entry
    entry_name: str
    phonebook: str
    params: DialParams
    uid: int
    pid: int
    tag: str = ""


class RecoveredDevice(Device):
    """The device of a link that died with a previous daemon process: nothing left to release."""

    device_type = "recovered"

    def __init__(self, ctx: DialContext, device_type: str, device_name: str) -> None:
        super().__init__(ctx)
        self._type, self._name = device_type, device_name

    @property
    def device_name(self) -> str:
        return self._name

    async def dial(self) -> None:  # never dialed: it only stands for a lost link
        raise RasError(ErrorCode.ERROR_NO_CONNECTION, "lost with the previous daemon")

    async def hangup(self) -> None:
        return None

    def status(self) -> LinkStatus:
        return LinkStatus(extra={"recovered_from": self._type})


class ConnectionManager:
    def __init__(
        self,
        ctx: DaemonContext,
        registry: dict[str, DeviceFactory],
        select: Callable[[Entry], str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        # Which registry key dials an entry (default: its DEVICE value).
        self._select = select or (lambda entry: entry.device)
        self.conns: dict[int, Connection] = {}
        self._by_key: dict[tuple[str, str], Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._stopping = False  # stop() began: no new dial is started
        self.stats = {"dials": 0, "connected": 0, "failed": 0, "link_lost": 0, "released": 0}
        self.hooks = HookRunner(
            HookSettings.from_config(ctx.config.raw, ctx.paths.config), ctx.events, ctx.uid, ctx.log
        )

    # -- lifecycle of the manager ------------------------------------------------
    async def start(self) -> None:
        self._recover()
        self._reaper = asyncio.create_task(self._reap_loop())

    async def stop(self) -> None:
        """SIGTERM: hang every link up cleanly, then forget them."""
        self._stopping = True
        if self._reaper:
            self._reaper.cancel()
        for conn in list(self.conns.values()):
            if conn.redial_task is not None:
                conn.redial_task.cancel()  # RedialSeconds must not hold the shutdown up
        for conn in list(self.conns.values()):
            conn.refs.clear()
            self._begin_teardown(conn, "daemon shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=TEARDOWN_TIMEOUT + 1)
        await self.hooks.stop(self.hooks.settings.timeout + 1)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- the state machine ----------------------------------------------------------------
    def _fire(
        self,
        conn: Connection,
        trigger: Trigger,
        *,
        notify: Notify | None = None,
        state: RASCS | None = None,
        error: int | None = None,
        detail: str | None = None,
        extended: int | None = None,
        **fields: Any,
    ) -> ConnectionEvent | None:
        """Apply ``trigger`` if the table allows it in the connection's phase; publish, persist."""
        phase = next_phase(conn.phase, trigger)
        if phase is None:
            return None
        conn.phase = phase
        if state is not None:
            conn.state = state
        if error is not None:
            conn.error = error
        if detail is not None:
            conn.detail = detail
        if extended is not None:
            conn.extended_error = extended
        if conn.dial_tag:  # the dial's first event carries its dialer's tag
            fields.setdefault("tag", conn.dial_tag)
            conn.dial_tag = ""
        event = self.ctx.events.publish(
            EVENTS[trigger](
                handle=conn.handle,
                entry=conn.entry_name,
                phonebook=conn.phonebook,
                owner_uid=conn.owner_uid,
                device_type=conn.device.device_type,
                state=conn.state,
                error=conn.error,
                extended_error=conn.extended_error,
                detail=conn.detail,
                phase=phase,
                refs=len(conn.refs),
                notify=notify,
                **fields,
            )
        )
        if phase is Phase.RELEASED:
            self.ctx.store.later.delete_connection(conn.handle)
        else:
            self._persist(conn)
        return event

    def _persist(self, conn: Connection) -> None:
        if conn.handle in self.conns:
            self._write_record(conn)

    def _write_record(self, conn: Connection) -> None:
        """Queue the connection's record for the store's next batch."""
        self.ctx.store.later.put_connection(*self._record_row(conn))

    def _store_record_now(self, conn: Connection) -> bool:
        """Write the connection's record now if the store's lock is free (never waits)."""
        return self.ctx.store.put_connection_nowait(*self._record_row(conn))

    @staticmethod
    def _record_row(conn: Connection) -> tuple[int, str, int, int, dict[str, Any]]:
        record = encode_record(conn.record())
        record["refs_detail"] = [
            [r.uid, r.process.pid if r.process else 0, r.process.start if r.process else None]
            for r in conn.refs
        ]
        record["was_connected"] = conn.was_connected
        return conn.handle, conn.entry_name, int(conn.state), conn.error, record

    # -- dial -----------------------------------------------------------------------
    def _refuse_when_stopping(self) -> None:
        if self._stopping:
            raise RasError(ErrorCode.ERROR_RASMAN_CANNOT_INITIALIZE, "the daemon is stopping")

    async def dial(self, req: DialRequest) -> DialStarted:
        self._refuse_when_stopping()  # its links are being hung up: no new one
        self.stats["dials"] += 1
        existing = self._by_key.get((req.phonebook, req.entry_name))
        if existing is not None:
            if existing.phase is Phase.CONNECTED:
                await check_join(existing, req.uid, req.params)
                if existing.phase is not Phase.CONNECTED:  # hung up while the key was read
                    raise RasError(ErrorCode.ERROR_NO_CONNECTION, f"{req.entry_name} ended")
                existing.refs.append(Reference(req.uid, ProcessRef.of(req.pid)))
                joined = self._fire(existing, Trigger.JOIN, joined_uid=req.uid, tag=req.tag)
                assert joined is not None
                return DialStarted(
                    existing.handle, joined.seq - 1, True, existing.state, len(existing.refs)
                )
            if existing.phase is Phase.DIALING or existing.redial_pending:
                raise RasError(
                    ErrorCode.ERROR_DIAL_ALREADY_IN_PROGRESS, f"{req.entry_name} is being dialed"
                )
            # A failed or hanging-up handle of the same entry does not block a new dial.
        kind = self._select(req.entry)
        factory = self.registry.get(kind)
        if factory is None:
            raise RasError(
                ErrorCode.ERROR_PORT_NOT_AVAILABLE,
                f"entry {req.entry.name!r}: unsupported DEVICE={req.entry.get('DEVICE')!r}",
            )
        handle = self.ctx.store.next_counter("handle")
        # The callbacks name ``conn``, bound below before the device can call them.
        dctx = DialContext(
            handle=handle,
            entry=req.entry,
            params=req.params,
            owner_uid=req.uid,
            progress=lambda state: self._progress(conn, state),
            link_lost=lambda code, detail: self._link_lost(conn, code, detail),
            log=HandleLog(self.ctx.log, handle),
            options=dict(self.ctx.config.devices.get(kind, {})),
            state_dir=self.ctx.paths.state,
            holders=lambda: [r.uid for r in conn.refs],
        )
        conn = Connection(
            handle=handle,
            entry=req.entry,
            entry_name=req.entry_name,
            phonebook=req.phonebook,
            params=req.params,
            device=factory(dctx),
            owner_uid=req.uid,
            refs=[Reference(req.uid, ProcessRef.of(req.pid))],
            dial_tag=req.tag,
        )
        # The new handle's first record is in the store before anyone hears of the handle:
        # after a crash the next daemon knows it and says how its dial ended (batched, it
        # could be lost with the daemon, leaving its dialer waiting). Written at once unless
        # the store's writer holds the lock: then on the writer's thread, the dial waiting for
        # it and the loop serving meanwhile (the key taken: a second dial of the entry is "in
        # progress"; the handle no one's to see or hang up yet).
        if not self._store_record_now(conn):
            before = self._by_key.get(conn.key)  # a failed or hanging-up handle of the entry
            self._by_key[conn.key] = conn
            self._write_record(conn)
            try:
                await self.ctx.store.later.commit_now()
                self._refuse_when_stopping()
            except BaseException:
                if before is None:
                    del self._by_key[conn.key]
                else:
                    self._by_key[conn.key] = before
                self.ctx.store.later.delete_connection(handle)
                raise
        self._by_key[conn.key] = conn
        seq = self.ctx.events.last_seq
        self.conns[handle] = conn
        # OpenPort ("the port is about to be opened") is announced here, before the dial's
        # answer is written: a client following the dial (by its tag) has the notification
        # while it still waits for the answer, not after processing it. The device's own
        # OpenPort, its first step, is then not announced twice (_progress).
        conn.open_announced = True
        self._fire(conn, Trigger.PROGRESS, state=RASCS.OpenPort)
        conn.task = self._spawn(self._run_dial(conn))
        return DialStarted(handle, seq, False, conn.state, 1)

    async def _run_dial(self, conn: Connection) -> None:
        try:
            await conn.device.dial()
        except asyncio.CancelledError:
            raise
        except RasError as exc:
            self._fail(conn, exc.code, exc.detail, exc.extended)
            return
        except Exception as exc:
            self.ctx.log.exception("handle %d: device failed", conn.handle)
            self._fail(conn, ErrorCode.ERROR_UNKNOWN, f"{type(exc).__name__}: {exc}")
            return
        if conn.phase is Phase.DIALING:
            # pre-up: before Connected is announced; a failing hook fails the dial.
            refused = refusal(await self.hooks.run(HookStage.PRE_UP, conn.record()))
            if refused is not None:
                self._fail(conn, refused.code, refused.detail)
                return
        if conn.phase is Phase.DIALING:
            conn.was_connected = True
            conn.connected_at = time.time()
            self.stats["connected"] += 1
        if self._fire(conn, Trigger.SUCCEEDED, state=RASCS.Connected, notify=Notify.CONNECTION):
            self.hooks.submit(HookStage.UP, conn.record())

    def _progress(self, conn: Connection, state: RASCS) -> None:
        if conn.open_announced:
            conn.open_announced = False
            if state == RASCS.OpenPort:
                return  # announced when the dial was accepted
        self._fire(conn, Trigger.PROGRESS, state=RASCS(state))

    def _fail(self, conn: Connection, code: int, detail: str, extended: int = 0) -> None:
        if self._fire(conn, Trigger.FAILED, error=code, detail=detail, extended=extended) is None:
            return
        conn.failed_at = time.time()
        self.stats["failed"] += 1
        self.ctx.log.info(
            "handle %d (%s): dial failed in %s: %s %s",
            conn.handle,
            conn.entry_name,
            state_name(conn.state),
            error_name(code),
            detail,
        )
        # Free the link's resources now; the handle stays listed with its error until hung up.
        self._spawn(self._release_device(conn, conn.device))
        self.hooks.submit(HookStage.DIAL_FAILED, conn.record())

    def _link_lost(self, conn: Connection, code: int, detail: str) -> None:
        if (
            self._fire(
                conn,
                Trigger.LINK_LOST,
                state=RASCS.Disconnected,
                error=code,
                detail=detail,
                notify=Notify.DISCONNECTION,
            )
            is None
        ):
            return
        conn.failed_at = time.time()
        self.stats["link_lost"] += 1
        self.ctx.log.info(
            "handle %d (%s): link lost: %s %s",
            conn.handle,
            conn.entry_name,
            error_name(code),
            detail,
        )
        record = conn.record()
        release = self._spawn(self._release_device(conn, conn.device))
        self.hooks.submit(HookStage.DOWN, record, after=release)
        if conn.entry.get_int("RedialOnLinkFailure", 0) == 1:
            conn.redial_task = self._spawn(self._redial(conn))

    async def _redial(self, conn: Connection) -> None:
        """RedialOnLinkFailure: dial the same entry again on the same handle."""
        attempts = max(conn.entry.get_int("RedialAttempts", 3), 0)
        seconds = conn.entry.get_int("RedialSeconds", 5)
        for attempt, pause in enumerate(redial.pauses(seconds, attempts), 1):
            await asyncio.sleep(pause)
            if conn.phase is not Phase.FAILED or conn.handle not in self.conns:
                return
            factory = self.registry[self._select(conn.entry)]
            conn.device = factory(conn.device.ctx)
            self._fire(
                conn,
                Trigger.REDIAL,
                state=RASCS.OpenPort,
                error=0,
                detail="",
                attempt=attempt,
                attempts=attempts,
            )
            conn.task = self._spawn(self._run_dial(conn))
            await asyncio.gather(conn.task, return_exceptions=True)
            if conn.phase is not Phase.FAILED:
                return
            # Back to the lost-link state so a later attempt (or the reaper) sees it.
            conn.state = RASCS.Disconnected

    async def _release_device(self, conn: Connection, device: Device) -> None:
        try:
            await within(device.hangup(), TEARDOWN_TIMEOUT)
        except Exception:
            self.ctx.log.exception("handle %d: device teardown failed", conn.handle)

    # -- hang-up --------------------------------------------------------------------
    def _authorize(self, conn: Connection, uid: int) -> None:
        if is_privileged(uid) or uid == conn.owner_uid or any(r.uid == uid for r in conn.refs):
            return
        raise RasError(
            ErrorCode.ERROR_ACCESS_DENIED, f"handle {conn.handle} belongs to uid {conn.owner_uid}"
        )

    def get(self, handle: int) -> Connection:
        conn = self.conns.get(handle)
        if conn is None:
            raise RasError(ErrorCode.ERROR_INVALID_HANDLE, f"no connection with handle {handle}")
        return conn

    async def hangup(self, handle: int, uid: int, pid: int) -> HangupStarted:
        conn = self.get(handle)
        self._authorize(conn, uid)
        if conn.phase is Phase.HANGING_UP:
            return HangupStarted(handle, 0, self.ctx.events.last_seq)
        ref = next(
            (r for r in conn.refs if r.uid == uid and r.process and r.process.pid == pid), None
        ) or next((r for r in conn.refs if r.uid == uid), None)
        if ref is not None:
            conn.refs.remove(ref)
        if conn.phase is Phase.CONNECTED and not ends_link(conn, uid, ref is not None):
            left = self._fire(conn, Trigger.LEAVE, left_uid=uid)
            assert left is not None
            return HangupStarted(handle, len(conn.refs), left.seq)
        conn.refs.clear()  # the owner's or root's hang-up ends the link for every holder
        started = self._begin_teardown(conn, "hang-up")
        return HangupStarted(handle, 0, started.seq if started else self.ctx.events.last_seq)

    def _begin_teardown(self, conn: Connection, reason: str) -> ConnectionEvent | None:
        connected = conn.phase is Phase.CONNECTED
        event = self._fire(conn, Trigger.HANG_UP, reason=reason)
        if event is not None:
            self._spawn(self._teardown(conn, connected, reason))
        return event

    async def _teardown(self, conn: Connection, connected: bool, reason: str) -> None:
        if conn.redial_task is not None and conn.redial_task is not asyncio.current_task():
            conn.redial_task.cancel()
        if conn.task is not None and not conn.task.done():
            conn.task.cancel()
            await asyncio.gather(conn.task, return_exceptions=True)
        if connected:
            # pre-down: the link is still up; its outcome cannot stop the hang-up.
            await self.hooks.run(HookStage.PRE_DOWN, conn.record())
            up = conn.record()
            await self._release_device(conn, conn.device)
            self._release(conn, reason, Notify.DISCONNECTION)
            self.hooks.submit(HookStage.DOWN, dataclasses.replace(up, error=conn.error))
            return
        await self._release_device(conn, conn.device)
        self._release(conn, reason, None)

    def _release(self, conn: Connection, reason: str, notify: Notify | None = None) -> None:
        if notify is not None and conn.error == 0:
            conn.error = ErrorCode.ERROR_USER_DISCONNECTION
        if (
            self._fire(
                conn, Trigger.RELEASE, state=RASCS.Disconnected, detail=reason, notify=notify
            )
            is None
        ):
            return
        self.conns.pop(conn.handle, None)
        if self._by_key.get(conn.key) is conn:
            del self._by_key[conn.key]
        self.stats["released"] += 1

    # -- failed handles of dead owners (policy beyond Windows, design.md point 4) -----
    async def _reap_loop(self) -> None:
        grace = self.ctx.config.failed_handle_grace
        while True:
            await asyncio.sleep(min(1.0, max(grace / 4, 0.05)))
            self.ctx.store.flush_pending()  # records a full disk held back
            now = time.monotonic()
            for conn in list(self.conns.values()):
                if conn.phase is not Phase.FAILED:
                    continue
                if any(r.process is not None and r.process.alive() for r in conn.refs):
                    conn.owner_gone_since = None
                    continue
                if conn.owner_gone_since is None:
                    conn.owner_gone_since = now
                elif now - conn.owner_gone_since >= grace:
                    self._release(conn, "owner process gone")

    def _recover(self) -> None:
        """Records left by a daemon that died without hanging up: those links are gone."""
        for record in self.ctx.store.list_connections():
            handle = int(record["handle"])
            entry = Entry("recovered", [])  # display name comes from the record
            params = DialParams(user=record.get("user", ""))
            dctx = DialContext(
                handle=handle,
                entry=entry,
                params=params,
                owner_uid=int(record["owner_uid"]),
                progress=lambda s: None,
                link_lost=lambda c, d: None,
                log=self.ctx.log,
            )
            device = RecoveredDevice(
                dctx, record.get("device_type", ""), record.get("device_name", "")
            )
            refs = [
                Reference(uid, ProcessRef(pid, start) if pid else None)
                for uid, pid, start in record.get("refs_detail", [])
            ]
            conn = Connection(
                handle=handle,
                entry=entry,
                entry_name=record["entry"],
                phonebook=record.get("phonebook", ""),
                params=params,
                device=device,
                owner_uid=int(record["owner_uid"]),
                refs=refs,
                phase=Phase.RELEASED,
                was_connected=bool(record.get("was_connected")),
                guid=record.get("guid", ""),
                created=record.get("created", time.time()),
                failed_at=time.time(),
            )
            self.conns[handle] = conn
            self._fire(
                conn,
                Trigger.RECOVER,
                state=RASCS.Disconnected,
                error=ErrorCode.ERROR_NO_CONNECTION,
                detail="the daemon stopped unexpectedly; the link was lost",
                notify=Notify.DISCONNECTION if conn.was_connected else None,
                recovered=True,
            )
            if record.get("phase") in (Phase.CONNECTED.value, Phase.HANGING_UP.value) and (
                conn.was_connected
            ):
                # The link went down with the daemon that held it: its ``down`` never ran.
                self.hooks.submit(
                    HookStage.DOWN,
                    dataclasses.replace(
                        conn.record(), device=decode_status(record.get("device") or {})
                    ),
                )

    # -- queries ----------------------------------------------------------------------
    def status(self, handle: int, uid: int) -> ConnectionRecord:
        return self.get(handle).record(self.flags_for(self.get(handle), uid))

    def listed(self, phases: frozenset[Phase] | None = None) -> list[Connection]:
        """The handles, in order (of ``phases`` only, when given)."""
        return self._listed(phases)

    def _listed(self, phases: frozenset[Phase] | None) -> list[Connection]:
        conns = sorted(self.conns.values(), key=lambda c: c.handle)
        return conns if phases is None else [c for c in conns if c.phase in phases]

    def list(self, uid: int, phases: frozenset[Phase] | None = None) -> list[ConnectionRecord]:
        return [c.record(self.flags_for(c, uid)) for c in self._listed(phases)]

    def enumerate(self, uid: int, phases: frozenset[Phase] | None = None) -> RasConns:
        """RasEnumConnections: the RASCONN view of each handle (``phases``: only those)."""
        return [c.rasconn(self.flags_for(c, uid)) for c in self._listed(phases)]

    @staticmethod
    def flags_for(conn: Connection, uid: int) -> int:
        # RASCONN dwFlags: the owner is always known here (SO_PEERCRED).
        return (
            RASCF_OwnerKnown
            | (RASCF_OwnerMatch if conn.owner_uid == uid else 0)
            | (RASCF_AllUsers if for_all_users(conn) else 0)
        )

    def projection(self, handle: int, kind: int) -> Projection:
        conn = self.get(handle)
        if conn.phase is not Phase.CONNECTED:
            if conn.phase is Phase.DIALING and conn.state < RASCS.Projected:
                raise RasError(ErrorCode.ERROR_PROJECTION_NOT_COMPLETE, "projection not complete")
            if conn.phase is not Phase.DIALING:
                raise RasError(
                    ErrorCode.ERROR_PROJECTION_NOT_COMPLETE, f"connection is {conn.phase.value}"
                )
        return conn.device.projection(kind)

    async def fresh_statistics(self, handle: int) -> LinkStatistics:
        """:meth:`statistics` after the device re-read counters other programs keep."""
        await self.get(handle).device.refresh_statistics()
        return self.statistics(handle)

    def statistics(self, handle: int) -> LinkStatistics:
        """RasGetConnectionStatistics: the device's counters and the time since Connected.
        Any local user may read them, as any may enumerate connections. Never blocks
        (``/metrics`` reads it on each scrape)."""
        conn = self.get(handle)
        stats = conn.device.statistics()
        duration = 0
        if conn.phase is Phase.CONNECTED and conn.connected_at is not None:
            duration = max(int((time.time() - conn.connected_at) * 1000), 0)
        return dataclasses.replace(stats, dwConnectDuration=duration)
