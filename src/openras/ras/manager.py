"""The connection manager: handles, the RASCS state machine, notifications, reference counts.

Every state change is published on the event bus (kind ``state``); the other kinds are
``reference`` (a dial joined / a hang-up left a shared handle), ``hangup`` (teardown started),
``released`` (teardown complete: the handle is gone) and ``redial``. ``notify`` marks the
events that RasConnectionNotification reports: ``connection`` and ``disconnection``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..codes import RASCS, RasError, error_name, errors, state_name
from ..context import DaemonContext
from ..phonebook import Entry
from .connection import Connection, Phase, Reference
from .devices import device_key
from .devices.base import Device, DialContext, DialParams
from .processes import ProcessRef

TEARDOWN_TIMEOUT = 15.0
# RASDIALPARAMS password "handle": GetEntryDialParams returns this in place of a saved
# password, and RasDial given it uses the saved one (Windows does the same).
SAVED_PASSWORD_HANDLE = "*" * 16


@dataclass
class DialRequest:
    entry: Entry
    entry_name: str
    phonebook: str
    params: DialParams
    uid: int
    pid: int


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
        raise RasError(errors.ERROR_NO_CONNECTION, "lost with the previous daemon")

    async def hangup(self) -> None:
        return None

    def status(self) -> dict[str, Any]:
        return {"recovered_from": self._type}


class ConnectionManager:
    def __init__(self, ctx: DaemonContext, registry: dict[str, Callable[[DialContext], Device]]) -> None:
        self.ctx = ctx
        self.registry = registry
        self.conns: dict[int, Connection] = {}
        self._by_key: dict[tuple[str, str], Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self.stats = {"dials": 0, "connected": 0, "failed": 0, "link_lost": 0, "released": 0}

    # -- lifecycle of the manager ------------------------------------------------
    async def start(self) -> None:
        self._recover()
        self._reaper = asyncio.create_task(self._reap_loop())

    async def stop(self) -> None:
        """SIGTERM: hang every link up cleanly, then forget them."""
        if self._reaper:
            self._reaper.cancel()
        for conn in list(self.conns.values()):
            if conn.redial_task is not None:
                conn.redial_task.cancel()  # RedialSeconds must not hold the shutdown up
        for conn in list(self.conns.values()):
            if conn.phase is not Phase.HANGING_UP:
                conn.refs.clear()
                self._begin_teardown(conn, "daemon shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=TEARDOWN_TIMEOUT + 1)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- events ---------------------------------------------------------------
    def _emit(self, conn: Connection, kind: str, notify: str | None = None, **extra: Any) -> dict[str, Any]:
        event = self.ctx.events.publish(
            kind, handle=conn.handle, entry=conn.entry_name, phonebook=conn.phonebook,
            owner_uid=conn.owner_uid, device_type=conn.device.device_type,
            state=int(conn.state), state_name=state_name(conn.state), error=conn.error,
            error_name=error_name(conn.error) if conn.error else "", extended_error=conn.extended_error,
            detail=conn.detail, phase=conn.phase.value, refs=len(conn.refs), notify=notify, **extra)
        self._persist(conn)
        return event

    def _persist(self, conn: Connection) -> None:
        if conn.handle not in self.conns:
            return
        record = conn.record()
        record["refs_detail"] = [[r.uid, r.process.pid if r.process else 0, r.process.start if r.process else None]
                                 for r in conn.refs]
        record["was_connected"] = conn.was_connected
        self.ctx.store.put_connection(conn.handle, conn.entry_name, int(conn.state), conn.error, record)

    # -- dial -----------------------------------------------------------------------
    async def dial(self, req: DialRequest) -> dict[str, Any]:
        self.stats["dials"] += 1
        existing = self._by_key.get((req.phonebook, req.entry_name))
        if existing is not None:
            if existing.phase is Phase.CONNECTED:
                existing.refs.append(Reference(req.uid, ProcessRef.of(req.pid)))
                event = self._emit(existing, "reference", joined_uid=req.uid)
                return {"handle": existing.handle, "seq": event["seq"] - 1, "shared": True,
                        "state": int(existing.state), "refs": len(existing.refs)}
            if existing.phase is Phase.DIALING or existing.redial_pending:
                raise RasError(errors.ERROR_DIAL_ALREADY_IN_PROGRESS, f"{req.entry_name} is being dialed")
            # A failed or hanging-up handle of the same entry does not block a new dial.
        factory = self.registry.get(device_key(req.entry))
        if factory is None:
            raise RasError(errors.ERROR_PORT_NOT_AVAILABLE,
                           f"entry {req.entry.name!r}: unsupported DEVICE={req.entry.get('DEVICE')!r}")
        handle = self.ctx.store.next_counter("handle")
        holder: dict[str, Connection] = {}
        dctx = DialContext(
            handle=handle, entry=req.entry, params=req.params, owner_uid=req.uid,
            progress=lambda state: self._progress(holder["c"], state),
            link_lost=lambda code, detail: self._link_lost(holder["c"], code, detail),
            log=self.ctx.log.getChild(f"h{handle}"),
            options=dict(self.ctx.config.devices.get(device_key(req.entry), {})), state_dir=self.ctx.paths.state)
        device = factory(dctx)
        conn = Connection(handle=handle, entry=req.entry, entry_name=req.entry_name, phonebook=req.phonebook,
                          params=req.params, device=device, owner_uid=req.uid,
                          refs=[Reference(req.uid, ProcessRef.of(req.pid))])
        holder["c"] = conn
        seq = self.ctx.events.last_seq
        self.conns[handle] = conn
        self._by_key[conn.key] = conn
        self._persist(conn)
        conn.task = self._spawn(self._run_dial(conn))
        return {"handle": handle, "seq": seq, "shared": False, "state": int(conn.state), "refs": 1}

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
            self._fail(conn, errors.ERROR_UNKNOWN, f"{type(exc).__name__}: {exc}")
            return
        if conn.phase is not Phase.DIALING:
            return
        conn.phase = Phase.CONNECTED
        conn.state = RASCS.Connected
        conn.was_connected = True
        conn.connected_at = time.time()
        self.stats["connected"] += 1
        self._emit(conn, "state", notify="connection")

    def _progress(self, conn: Connection, state: RASCS) -> None:
        # After a hang-up (or a failure) the dial's notifications stop (contract points 2, 5).
        if conn.phase is not Phase.DIALING:
            return
        conn.state = RASCS(state)
        self._emit(conn, "state")

    def _fail(self, conn: Connection, code: int, detail: str, extended: int = 0) -> None:
        if conn.phase is not Phase.DIALING:
            return
        conn.phase = Phase.FAILED
        conn.error, conn.detail, conn.extended_error = code, detail, extended
        conn.failed_at = time.time()
        self.stats["failed"] += 1
        self.ctx.log.info("handle %d (%s): dial failed in %s: %s %s", conn.handle, conn.entry_name,
                          state_name(conn.state), error_name(code), detail)
        self._emit(conn, "state")
        # Free the link's resources now; the handle stays listed with its error until hung up.
        self._spawn(self._release_device(conn, conn.device))

    def _link_lost(self, conn: Connection, code: int, detail: str) -> None:
        if conn.phase is not Phase.CONNECTED:
            return
        conn.phase = Phase.FAILED
        conn.state = RASCS.Disconnected
        conn.error, conn.detail = code, detail
        conn.failed_at = time.time()
        self.stats["link_lost"] += 1
        self.ctx.log.info("handle %d (%s): link lost: %s %s", conn.handle, conn.entry_name, error_name(code), detail)
        self._emit(conn, "state", notify="disconnection")
        self._spawn(self._release_device(conn, conn.device))
        self._maybe_redial(conn)

    def _maybe_redial(self, conn: Connection) -> None:
        """RedialOnLinkFailure: dial the same entry again on the same handle."""
        if conn.entry.get_int("RedialOnLinkFailure", 0) != 1:
            return
        conn.redial_task = self._spawn(self._redial(conn))

    async def _redial(self, conn: Connection) -> None:
        attempts = max(conn.entry.get_int("RedialAttempts", 3), 0)
        pause = max(conn.entry.get_int("RedialSeconds", 5), 0)
        for attempt in range(1, attempts + 1):
            await asyncio.sleep(pause)
            if conn.phase is not Phase.FAILED or conn.handle not in self.conns:
                return
            factory = self.registry[device_key(conn.entry)]
            old = conn.device
            conn.device = factory(old.ctx)
            conn.phase, conn.error, conn.detail, conn.state = Phase.DIALING, 0, "", RASCS.OpenPort
            self._emit(conn, "redial", attempt=attempt, attempts=attempts)
            conn.task = self._spawn(self._run_dial(conn))
            await asyncio.gather(conn.task, return_exceptions=True)
            if conn.phase is Phase.CONNECTED:
                return
            if conn.phase is Phase.FAILED:
                # Back to the lost-link state so a later attempt (or the reaper) sees it.
                conn.state = RASCS.Disconnected
            else:
                return

    async def _release_device(self, conn: Connection, device: Device) -> None:
        try:
            await asyncio.wait_for(device.hangup(), TEARDOWN_TIMEOUT)
        except Exception:
            self.ctx.log.exception("handle %d: device teardown failed", conn.handle)

    # -- hang-up --------------------------------------------------------------------
    def _authorize(self, conn: Connection, uid: int) -> None:
        if uid == 0 or uid == self.ctx.uid or uid == conn.owner_uid or any(r.uid == uid for r in conn.refs):
            return
        raise RasError(errors.ERROR_ACCESS_DENIED, f"handle {conn.handle} belongs to uid {conn.owner_uid}")

    def get(self, handle: int) -> Connection:
        conn = self.conns.get(handle)
        if conn is None:
            raise RasError(errors.ERROR_INVALID_HANDLE, f"no connection with handle {handle}")
        return conn

    async def hangup(self, handle: int, uid: int, pid: int) -> dict[str, Any]:
        conn = self.get(handle)
        self._authorize(conn, uid)
        if conn.phase is Phase.HANGING_UP:
            return {"handle": handle, "refs": 0, "seq": self.ctx.events.last_seq}
        if conn.refs:
            ref = next((r for r in conn.refs if r.uid == uid and r.process and r.process.pid == pid), None) \
                or next((r for r in conn.refs if r.uid == uid), None) or conn.refs[-1]
            conn.refs.remove(ref)
        if conn.refs and conn.phase is Phase.CONNECTED:
            event = self._emit(conn, "reference", left_uid=uid)
            return {"handle": handle, "refs": len(conn.refs), "seq": event["seq"]}
        event = self._begin_teardown(conn, "hang-up")
        return {"handle": handle, "refs": 0, "seq": event["seq"]}

    def _begin_teardown(self, conn: Connection, reason: str) -> dict[str, Any]:
        connected = conn.phase is Phase.CONNECTED
        conn.phase = Phase.HANGING_UP
        event = self._emit(conn, "hangup", reason=reason)
        self._spawn(self._teardown(conn, connected, reason))
        return event

    async def _teardown(self, conn: Connection, connected: bool, reason: str) -> None:
        if conn.redial_task is not None and conn.redial_task is not asyncio.current_task():
            conn.redial_task.cancel()
        if conn.task is not None and not conn.task.done():
            conn.task.cancel()
            await asyncio.gather(conn.task, return_exceptions=True)
        await self._release_device(conn, conn.device)
        self._release(conn, reason, notify="disconnection" if connected else None)

    def _release(self, conn: Connection, reason: str, notify: str | None = None) -> None:
        if self.conns.pop(conn.handle, None) is None:
            return
        if self._by_key.get(conn.key) is conn:
            del self._by_key[conn.key]
        self.ctx.store.delete_connection(conn.handle)
        self.stats["released"] += 1
        if notify and conn.error == 0:
            conn.error = errors.ERROR_USER_DISCONNECTION
        self.ctx.events.publish(
            "released", handle=conn.handle, entry=conn.entry_name, phonebook=conn.phonebook,
            owner_uid=conn.owner_uid, device_type=conn.device.device_type, state=int(RASCS.Disconnected),
            state_name=state_name(RASCS.Disconnected), error=conn.error,
            error_name=error_name(conn.error) if conn.error else "", extended_error=conn.extended_error,
            detail=reason, phase="released", refs=0, notify=notify)

    # -- failed handles of dead owners (policy beyond Windows, design.md point 4) -----
    async def _reap_loop(self) -> None:
        grace = self.ctx.config.failed_handle_grace
        while True:
            await asyncio.sleep(min(1.0, max(grace / 4, 0.05)))
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
            dctx = DialContext(handle=handle, entry=entry, params=DialParams(user=record.get("user", "")),
                               owner_uid=int(record["owner_uid"]), progress=lambda s: None,
                               link_lost=lambda c, d: None, log=self.ctx.log)
            device = RecoveredDevice(dctx, record.get("device_type", ""), record.get("device_name", ""))
            refs = [Reference(uid, ProcessRef(pid, start) if pid else None)
                    for uid, pid, start in record.get("refs_detail", [])]
            conn = Connection(handle=handle, entry=entry, entry_name=record["entry"],
                              phonebook=record.get("phonebook", ""), params=dctx.params, device=device,
                              owner_uid=int(record["owner_uid"]), refs=refs, state=RASCS.Disconnected,
                              error=errors.ERROR_NO_CONNECTION, phase=Phase.FAILED,
                              detail="the daemon stopped unexpectedly; the link was lost",
                              was_connected=bool(record.get("was_connected")), guid=record.get("guid", ""),
                              created=record.get("created", time.time()), failed_at=time.time())
            self.conns[handle] = conn
            self._emit(conn, "state", notify="disconnection" if conn.was_connected else None, recovered=True)

    # -- queries ----------------------------------------------------------------------
    def status(self, handle: int) -> dict[str, Any]:
        return self.get(handle).record()

    def list(self) -> list[dict[str, Any]]:
        return [c.record() for c in sorted(self.conns.values(), key=lambda c: c.handle)]

    def projection(self, handle: int, kind: int) -> dict[str, Any]:
        conn = self.get(handle)
        if conn.phase is not Phase.CONNECTED:
            if conn.phase is Phase.DIALING and conn.state < RASCS.Projected:
                raise RasError(errors.ERROR_PROJECTION_NOT_COMPLETE, "projection not complete")
            if conn.phase is not Phase.DIALING:
                raise RasError(errors.ERROR_PROJECTION_NOT_COMPLETE, f"connection is {conn.phase.value}")
        return conn.device.projection(kind)
