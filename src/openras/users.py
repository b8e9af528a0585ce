"""Local users: the login name of a uid, and whether a uid is privileged.

Shared by the connection manager and the router so that both decide the same way.
"""

from __future__ import annotations

import os
import pwd


def login_name(uid: int) -> str:
    """The login name of ``uid`` from the user database; "" when it has none.

    Blocking: NSS may ask a directory service (LDAP, SSSD) over the network. From async code,
    call it through ``asyncio.to_thread``.
    """
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


def is_privileged(uid: int) -> bool:
    """Root or the daemon's own user: the uids trusted with the daemon's own resources (its
    keys, files it owns). Not a question of visibility: seeing every user's connections is
    for root alone."""
    return uid == 0 or uid == os.geteuid()
