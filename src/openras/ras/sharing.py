"""Who may join a connected entry's handle (contract point 8), and who ends it.

A dial of an entry that is already connected adds a reference to the same handle. For the link's
owner (and root or the daemon's user) that is Windows' behaviour. Anyone else would ride the
owner's link: they may join only an entry marked ``AllUsers=1``, and only with the credentials
that would have dialed it themselves (the same user name, password and domain; a key file they
can read as their own).
"""

from __future__ import annotations

import asyncio
import hmac

from ..codes import ErrorCode, RasError
from ..users import is_privileged
from .connection import Connection
from .devices.base import DialParams, read_user_file

ALL_USERS_KEY = "AllUsers"


def for_all_users(conn: Connection) -> bool:
    """The entry that dialed ``conn`` is marked for all users (RASCF_AllUsers)."""
    try:
        return conn.entry.get_int(ALL_USERS_KEY, 0) == 1
    except RasError:
        return False


def _same_credentials(dialed: DialParams, offered: DialParams) -> bool:
    return (
        hmac.compare_digest(dialed.user.encode(), offered.user.encode())
        and hmac.compare_digest(dialed.password.encode(), offered.password.encode())
        and hmac.compare_digest(dialed.domain.encode(), offered.domain.encode())
    )


async def check_join(conn: Connection, uid: int, params: DialParams) -> None:
    """Raise unless ``uid`` may take a reference to the connected ``conn``."""
    if uid == conn.owner_uid or is_privileged(uid):
        return
    if not for_all_users(conn):
        raise RasError(
            ErrorCode.ERROR_ACCESS_DENIED,
            f"{conn.entry_name} is connected by uid {conn.owner_uid} and not shared "
            f"({ALL_USERS_KEY}=1)",
        )
    if not _same_credentials(conn.params, params):
        raise RasError(
            ErrorCode.ERROR_AUTHENTICATION_FAILURE,
            f"{conn.entry_name}: not the credentials the connection was dialed with",
        )
    key = conn.entry.get("SshKey")
    if key:  # the joiner must be able to use the key as their own (raises 5 / 621 if not)
        await asyncio.to_thread(read_user_file, key, uid, "SshKey", True)


def ends_link(conn: Connection, uid: int, left_own_reference: bool) -> bool:
    """After ``uid``'s hang-up (``left_own_reference``: it dropped a reference of its own),
    does the link end? A joined user only leaves. The owner's last reference ends it for every
    holder; so does root's (or the daemon user's) hang-up when it holds none."""
    if not conn.refs:
        return True
    if uid == conn.owner_uid:
        return not any(r.uid == conn.owner_uid for r in conn.refs)
    return not left_own_reference
