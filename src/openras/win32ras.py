"""pywin32's ``win32ras`` on openras: Windows RAS code runs unchanged.

Signatures and return tuples follow pywin32 (reference/ras.md §10). A dial's callback is
called as ``cb(hrasconn, msg, rascs, error, extendedError)`` on one callback thread per
process (as Windows runs a process's RAS callbacks on one thread).
"""

from __future__ import annotations

import functools
import os
import queue
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import phonebook as _pbk
from . import pywintypes
from .client import ApiError, Client, entry_path
from .client.follower import DialFollower
from .client.ras import Ras, _watch_flag
from .codes import RASCS, ErrorCode, RasError, error_string
from .codes.states import (  # noqa: F401 - re-exported constants
    RASCS_DONE,
    RASCS_PAUSED,
    RASCN_BandwidthAdded,
    RASCN_BandwidthRemoved,
    RASCN_Connection,
    RASCN_Disconnection,
    RASCN_Dormant,
    RASCN_ReConnection,
    RASP_PppIp,
    RASP_PppIpv6,
    RASP_PppLcp,
    RASP_Socks,
    RDEOPT_PausedStates,
)
from .events.types import HangupStarted, Released
from .ras.records import SAVED_PASSWORD_HANDLE, encode_statistics, table_picker

WM_RASDIALEVENT = 0xCCCD
# RasGetEapUserIdentity flags (ras.h)
RASEAPF_NonInteractive = 0x2
RASEAPF_Logon = 0x4
RASEAPF_Preview = 0x8
RAS_STATS_SIZE = 60  # sizeof(RAS_STATS): fifteen DWORDs

for _state in RASCS:
    globals()[f"RASCS_{_state.name}"] = int(_state)


error = pywintypes.error  # pywin32: both modules raise pywintypes.error


_lock = threading.Lock()
_client: Client | None = None


def _ras() -> Ras:
    global _client
    with _lock:
        if _client is None:
            _client = Client()
        return Ras(_client)


def _raise(exc: ApiError, func: str) -> None:
    raise error(exc.code, func, error_string(exc.code)) from None


# -- the process's callback thread ---------------------------------------------------------
_callbacks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_callback_thread: threading.Thread | None = None


def _callback_loop() -> None:
    while True:
        job = _callbacks.get()
        try:
            with _delivering:
                job()
        except Exception:
            import traceback

            traceback.print_exc()


def _post(job: Callable[[], None]) -> None:
    global _callback_thread
    with _lock:
        if _callback_thread is None:
            _callback_thread = threading.Thread(
                target=_callback_loop, name="win32ras-callbacks", daemon=True
            )
            _callback_thread.start()
    _callbacks.put(job)


# Handles this process hung up: notifications already queued for them are dropped, so no
# callback runs after HangUp returned (reference/ras.md §3). ``_delivering`` is held while a
# callback runs: HangUp from another thread waits for one in flight to finish. Handles are
# unique per daemon, so the key names the daemon's socket too.
_hung_up: set[tuple[str, int]] = set()
_delivering = threading.RLock()


def _hung_up_key(client: Client, handle: int) -> tuple[str, int]:
    return (str(client.paths.socket), int(handle))


class _DialView:
    """A dial's notifications relayed to the callback thread, in order, from the process's
    shared event stream (no thread or connection of its own).

    The dial is tagged and subscribed to before it is sent, so its first event is recognised
    by the tag as it arrives, not only once the dial's answer has come back: the callback is
    not held up by the answer's round trip.
    """

    def __init__(self, client: Client, callback: Callable[..., Any]) -> None:
        self._socket = str(client.paths.socket)
        self._callback = callback
        self._follower = DialFollower(0, 0, tag=secrets.token_hex(8))
        self._lost: ApiError | None = None
        self._sub: Any = None
        self._cancelled = False
        self._sub = Ras(client).hub().subscribe_from_now(self._on_event, self._on_lost)
        if self._cancelled:
            self._sub.cancel()

    @property
    def tag(self) -> str:
        return self._follower.tag

    def _key(self) -> tuple[str, int]:
        return (self._socket, self._follower.handle)

    def _cancel(self) -> None:
        self._cancelled = True
        self._follower.done = True
        if self._sub is not None:
            self._sub.cancel()

    def started(self, handle: int) -> None:
        """The dial's answer came (on the dialing thread)."""
        self._follower.learn(handle)
        if self._lost is not None and not self._follower.done:
            self._on_lost(self._lost)

    def refused(self) -> None:
        """The dial was refused: no handle, no notifications."""
        self._cancel()

    def _deliver(self, note: Any) -> None:
        if (self._socket, note.handle) not in _hung_up:
            self._callback(
                note.handle, WM_RASDIALEVENT, int(note.state), note.error, note.extended_error
            )

    def _on_event(self, event: Any) -> None:  # on the hub's loop
        handle = self._follower.handle
        if handle and isinstance(event, HangupStarted | Released) and event.handle == handle:
            # Hung up, maybe by another process: callbacks still queued are dropped too.
            _hung_up.add(self._key())
            self._cancel()
            return
        if handle and self._key() in _hung_up:
            self._follower.done = True
        for note in self._follower.feed(event):
            _post(functools.partial(self._deliver, note))
        # After the final notification the subscription stays, to see a hang-up.

    def _on_lost(self, exc: ApiError) -> None:
        # The daemon went away for good (none could be started): the view still ends, with a
        # final, failed notification (once the handle is known: else the dial's answer fails).
        self._lost = exc
        handle = self._follower.handle
        if not handle:
            return
        if not self._follower.done and self._key() not in _hung_up:
            _post(
                functools.partial(
                    self._callback, handle, WM_RASDIALEVENT, int(RASCS.Disconnected), exc.code, 0
                )
            )
        self._follower.done = True


def _params(params: Sequence[str] | None) -> list[str]:
    values = [str(p or "") for p in (params or [])][:6]
    return values + [""] * (6 - len(values))


def Dial(
    dialExtensions: Any,
    fileName: str | None,
    params: Sequence[str],
    callback: Callable[..., Any] | None,
) -> tuple[int, int]:
    """RasDial. Returns ``(handle, retcode)``; a non-zero handle must be hung up even on failure."""
    entry, phone, callback_number, user, password, domain = _params(params)
    ras = _ras()
    view = None
    try:
        if callback is not None:
            view = _DialView(ras.client, callback)
        started = ras.dial(
            entry,
            phonebook=fileName,
            phone_number=phone,
            user=user,
            password=password,
            domain=domain,
            callback_number=callback_number,
            tag=view.tag if view is not None else "",
        )
    except ApiError as exc:
        if view is not None:
            view.refused()
        return 0, exc.code
    handle = started.handle
    if view is not None:
        view.started(handle)
        return handle, 0
    last = None
    try:
        for note in ras.notifications(handle, started.seq):
            last = note
    except ApiError as exc:
        return handle, exc.code
    if last is None:
        return handle, ErrorCode.ERROR_USER_DISCONNECTION
    if last.error:
        return handle, last.error
    return handle, 0 if last.state == RASCS.Connected else ErrorCode.ERROR_DISCONNECTION


def HangUp(handle: int) -> None:
    # First stop this process's callbacks of the handle (and wait for one running elsewhere;
    # from inside a callback the lock is already ours), then tell the daemon.
    ras = _ras()
    with _delivering:
        _hung_up.add(_hung_up_key(ras.client, handle))
    try:
        ras.hangup(int(handle))
    except ApiError as exc:
        _raise(exc, "RasHangUp")


def GetConnectStatus(handle: int) -> tuple[int, int, str, str]:
    try:
        s = _ras().status(int(handle))
    except ApiError as exc:
        _raise(exc, "RasGetConnectStatus")
    return int(s.state), s.error, s.device_type, s.device_name


_ENUM_FIELDS = ("handle", "entry", "device_type", "device_name")


def EnumConnections() -> list[tuple[int, str, str, str]]:
    try:
        # Straight from the rows of the columns form: the tuple is all pywin32 gives.
        table = _ras().rasconn_table()
        return list(map(table_picker(table, _ENUM_FIELDS), table["rows"]))
    except ApiError as exc:
        _raise(exc, "RasEnumConnections")
    return []


def EnumEntries(reserved: Any = None, fileName: str | None = None) -> tuple[str, ...]:
    try:
        if fileName:
            return tuple(e.name for e in _pbk.read_file(fileName))
        return tuple(e["name"] for e in _ras().client.call("GET", "/v1/entries"))
    except ApiError as exc:
        _raise(exc, "RasEnumEntries")
    except RasError as exc:
        raise error(exc.code, "RasEnumEntries", error_string(exc.code)) from None
    return ()


def _cred_params(fileName: str | None) -> dict[str, str] | None:
    return {"phonebook": os.path.abspath(fileName)} if fileName else None


def GetEntryDialParams(fileName: str | None, entryName: str) -> tuple[tuple[str, ...], int]:
    """Saved credentials; a saved password comes back as the 16-asterisk handle, never itself."""
    client = _ras().client
    try:
        if fileName:
            entry = _pbk.find(_pbk.read_file(fileName), entryName)
        else:
            entry = _pbk.Entry(
                entryName, [tuple(kv) for kv in client.call("GET", entry_path(entryName))["lines"]]
            )
        creds = client.call(
            "GET", entry_path(entryName, "credentials"), params=_cred_params(fileName)
        )
    except ApiError as exc:
        _raise(exc, "RasGetEntryDialParams")
    except RasError as exc:
        raise error(exc.code, "RasGetEntryDialParams", error_string(exc.code)) from None
    password = SAVED_PASSWORD_HANDLE if creds["have_password"] else ""
    phone = entry.get("PhoneNumber") or ""
    return (entryName, phone, "", creds["user"], password, creds["domain"]), int(
        creds["have_password"]
    )


def SetEntryDialParams(fileName: str | None, params: Sequence[str], removePassword: int) -> None:
    entry, _phone, _cb, user, password, domain = _params(params)
    body = {
        "user": user,
        "domain": domain,
        "remove_password": bool(removePassword),
        "password": None if removePassword else password,
    }
    try:
        _ras().client.call(
            "PUT", entry_path(entry, "credentials"), json=body, params=_cred_params(fileName)
        )
    except ApiError as exc:
        _raise(exc, "RasSetEntryDialParams")


def RasConnectionNotification(hrasconn: int | None, hEvent: Any, dwFlags: int) -> None:
    """Signal ``hEvent`` (anything with ``.set()``, e.g. threading.Event) each time a connection
    is made (RASCN_Connection, only for all handles) or ended (RASCN_Disconnection).
    ``hrasconn`` None or INVALID_HANDLE_VALUE (-1) = all connections. As on Windows, the event
    only signals: the program then re-enumerates. The watch lasts for the process's lifetime."""
    handle = None if hrasconn in (None, 0, -1, 0xFFFFFFFF) else int(hrasconn)
    if handle is not None and not IsHandleValid(handle):
        raise error(
            ErrorCode.ERROR_INVALID_HANDLE,
            "RasConnectionNotification",
            error_string(ErrorCode.ERROR_INVALID_HANDLE),
        )
    ras = _ras()
    since = int(ras.client.call("GET", "/v1/health")["last_seq"])
    flags = int(dwFlags)

    def on_event(event: Any) -> None:  # on the hub's loop: signalling only
        if _watch_flag(event, handle, flags):
            hEvent.set()

    # The daemon going away ends the watch: nothing more will be signalled.
    ras.hub().subscribe(since, on_event, lambda exc: None)


def GetErrorString(code: int) -> str:
    return error_string(int(code))


def IsHandleValid(handle: Any) -> bool:
    try:
        return int(handle) > 0 and bool(_ras().status(int(handle)))
    except (ApiError, TypeError, ValueError):
        return False


def GetProjectionInfo(handle: int, projection: int) -> dict[str, Any]:
    """RasGetProjectionInfo: a dict with the RASPPPIP-style keys of what the device projects."""
    try:
        return _ras().projection(int(handle), int(projection))
    except ApiError as exc:
        _raise(exc, "RasGetProjectionInfo")
    return {}


def _entry(fileName: str | None, entryName: str) -> _pbk.Entry:
    """An entry of the phonebook file, or of the daemon's phonebook (fileName None)."""
    if fileName:
        return _pbk.find(_pbk.read_file(fileName), entryName)
    data = _ras().client.call("GET", entry_path(entryName))
    return _pbk.Entry(entryName, [tuple(kv) for kv in data["lines"]])


def CreatePhonebookEntry(hWnd: Any, fileName: str | None = None, /) -> None:
    """RasCreatePhonebookEntry: the new entry opens in the user's editor (openras
    .phonebook_editor) and is stored in ``fileName``, or in the daemon's phonebook."""
    from . import phonebook_editor

    try:
        entry = phonebook_editor.edit(phonebook_editor.NEW_ENTRY, template=True)
        if fileName:
            phonebook_editor.store_in_file(fileName, entry, None)
        else:
            _ras().client.call(
                "POST", "/v1/entries", json={"name": entry.name, "lines": entry.lines}
            )
    except ApiError as exc:
        _raise(exc, "RasCreatePhonebookEntry")
    except RasError as exc:
        raise error(exc.code, "RasCreatePhonebookEntry", error_string(exc.code)) from None


def EditPhonebookEntry(hWnd: Any, fileName: str | None, entryName: str, /) -> None:
    """RasEditPhonebookEntry: the entry opens in the user's editor and is stored when saved
    (renaming it in the ``[section]`` line renames the entry)."""
    from . import phonebook_editor

    try:
        current = _entry(fileName, entryName)
        entry = phonebook_editor.edit(_pbk.serialize([current]), template=False)
        if fileName:
            phonebook_editor.store_in_file(fileName, entry, entryName)
        else:
            _ras().client.call(
                "PATCH",
                entry_path(entryName),
                json={"name": entry.name, "lines": entry.lines},
            )
    except ApiError as exc:
        _raise(exc, "RasEditPhonebookEntry")
    except RasError as exc:
        raise error(exc.code, "RasEditPhonebookEntry", error_string(exc.code)) from None


def GetEapUserIdentity(phoneBook: str | None, entry: str, flags: int, hwnd: Any = None, /) -> Any:
    """RasGetEapUserIdentity. No entry here takes EAP identity data from the caller (IKEv2's
    EAP-MSCHAPv2 uses the entry's user name and password, as Windows' standard credentials
    dialog does), so for an existing entry this answers ERROR_INVALID_FUNCTION_FOR_ENTRY (780):
    dial without EAP identity information. A missing entry: 623."""
    try:
        _entry(phoneBook, entry)
    except ApiError as exc:
        _raise(exc, "RasGetEapUserIdentity")
    except RasError as exc:
        raise error(exc.code, "RasGetEapUserIdentity", error_string(exc.code)) from None
    code = ErrorCode.ERROR_INVALID_FUNCTION_FOR_ENTRY
    raise error(code, "RasGetEapUserIdentity", error_string(code))


def GetConnectionStatistics(handle: int) -> dict[str, int]:
    """RasGetConnectionStatistics: a dict with the RAS_STATS field names (dwSize included)."""
    try:
        stats = _ras().statistics(int(handle))
    except ApiError as exc:
        _raise(exc, "RasGetConnectionStatistics")
        return {}
    return {"dwSize": RAS_STATS_SIZE, **encode_statistics(stats)}
