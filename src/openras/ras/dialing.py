"""From a dial request to what the manager dials: the entry, its name, and the credentials.

RasDial takes an entry of the daemon's phonebook, an entry of a phonebook file (whose text the
client read with its own rights), or no entry at all (a phone number and a device: the connection
is listed as ``.`` + the number, as Windows does). User name, password and domain come from the
call, completed by the caller's own saved credentials — never another user's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .. import phonebook
from ..codes import ErrorCode, RasError
from ..store import Store
from .devices.base import DialParams
from .manager import DialRequest
from .records import SAVED_PASSWORD_HANDLE


@dataclass(frozen=True)
class DialCall:
    """What a RasDial caller asked for (the API body, already validated)."""

    entry: str = ""
    phonebook: str = ""  # the phonebook file's path, for RASCONN
    phonebook_text: str | None = None  # its text, read by the client
    phone_number: str = ""
    callback_number: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    domain: str = ""
    device: str = ""  # DEVICE for a dial without an entry
    tag: str = ""  # echoed on the dial's first event (ConnectionEvent.tag)


def credential_key(entry: str, phonebook_path: str = "") -> str:
    """The key saved credentials are stored under: the entry, or the file and the entry."""
    return f"file:{phonebook_path}|{entry}" if phonebook_path else entry


def check_store_name(name: str) -> str:
    """A name for an entry of the daemon's phonebook: it must never equal a phonebook file's
    credential key (``file:<path>|<entry>``, which always holds a ``|``), or renaming or deleting
    it would move or erase another user's saved credentials."""
    if "|" in name:
        raise RasError(
            ErrorCode.ERROR_INVALID_PARAMETER, f"invalid entry name {name!r}: '|' is reserved"
        )
    return name


def find_entry(store: Store, name: str) -> tuple[int, list[tuple[str, str]]]:
    found = store.get_entry(name)
    if found is None:
        raise RasError(ErrorCode.ERROR_CANNOT_FIND_PHONEBOOK_ENTRY, f"no entry named {name!r}")
    return found


def merge_credentials(call: DialCall, saved: tuple[str, str | None, str] | None) -> DialParams:
    """RASDIALPARAMS: the call's fields, blanks filled from the saved credentials."""
    user, password, domain = call.user, call.password, call.domain
    if saved:
        user = user or saved[0]
        if (not password or password == SAVED_PASSWORD_HANDLE) and saved[1] is not None:
            password = saved[1]
        if domain in ("", "*"):
            domain = saved[2]
    if password == SAVED_PASSWORD_HANDLE:
        password = ""
    return DialParams(
        entry=call.entry,
        phone_number=call.phone_number,
        callback_number=call.callback_number,
        user=user,
        password=password,
        domain=domain,
    )


async def dial_request(store: Store, call: DialCall, uid: int, pid: int) -> DialRequest:
    if call.phonebook_text is not None:
        entries = await asyncio.to_thread(
            phonebook.parse, call.phonebook_text, call.phonebook or "phonebook"
        )
        entry = phonebook.find(entries, call.entry) if call.entry else None
        key = credential_key(call.entry, call.phonebook)
    else:
        entry = (
            phonebook.Entry(call.entry, find_entry(store, call.entry)[1]) if call.entry else None
        )
        key = credential_key(call.entry)
    if entry is None:
        if not call.phone_number or not call.device:
            raise RasError(
                ErrorCode.ERROR_INVALID_PARAMETER,
                "a dial without an entry needs phone_number and device",
            )
        entry = phonebook.Entry(
            "phone", [("DEVICE", call.device), ("PhoneNumber", call.phone_number)]
        )
        entry_name = "." + call.phone_number
    else:
        entry_name = entry.name
    saved = store.get_credentials(uid, key) if call.entry else None
    return DialRequest(
        entry=entry,
        entry_name=entry_name,
        phonebook=call.phonebook,
        params=merge_credentials(call, saved),
        uid=uid,
        pid=pid,
        tag=call.tag,
    )
