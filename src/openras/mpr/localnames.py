"""Local names of WNet connections, and the per-user drives directory.

``X:`` (A–Z, any case) is a drive: a directory ``<drives>/<uid>/X`` that the provider mounts
on; each user has their own drives, so ``Z:`` of one user is not ``Z:`` of another. An
absolute directory path is a mount point: an existing one must be a directory belonging to
the requesting user (root: any), the rule fusermount applies; a missing one is created by the
mount if its parent exists (openras.mpr.mount checks the rest: empty, not already mounted).
No local name (None or "") makes a deviceless connection. Anything else is ERROR_BAD_DEVICE
(WN_BAD_LOCALNAME).

The functions that touch the file system (:func:`resolve_local`, :func:`lookup_local`,
:class:`DrivesDirectory`) block: from async code, call them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Any

from ..codes import ErrorCode, RasError

DRIVE_RE = re.compile(r"^[A-Za-z]:$")
MAX_NAME = 4096
# Free drives for CONNECT_REDIRECT, in the order they are picked (Windows: from Z: down).
REDIRECT_DRIVES = tuple(f"{letter}:" for letter in "ZYXWVUTSRQPONMLKJIHGFEDC")


def is_drive(name: str) -> bool:
    return bool(DRIVE_RE.match(name))


def is_local_path(name: str) -> bool:
    # "//server/share" is a UNC name written with slashes (names.py accepts it), not a path.
    return name.startswith("/") and not (name.startswith("//") and not name.startswith("///"))


def is_local_name(name: str) -> bool:
    """A drive or a directory path (not a remote name)."""
    return is_drive(name) or is_local_path(name)


def local_key(uid: int, local: str) -> tuple[Any, ...]:
    """What makes two local names the same: drives are per user, directories are global."""
    return ("drive", uid, local) if is_drive(local) else ("path", local)


def resolve_local(local: str, owner_uid: int | None) -> str:
    """Validate a local name for an add; the normalised name (``Z:`` or a real path).

    ``owner_uid``: whom an existing directory must belong to; None: anyone's will do (root).
    Blocking (stat, realpath).
    """
    if is_drive(local):
        return local.upper()
    if not is_local_path(local) or "\0" in local or len(local) > MAX_NAME:
        raise RasError(
            ErrorCode.ERROR_BAD_DEVICE, f"{local!r} is neither a drive (X:) nor an absolute path"
        )
    real = os.path.realpath(local)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        # The mount creates a missing directory (and removes it again) if its parent exists.
        if not os.path.isdir(os.path.dirname(real)):
            raise RasError(
                ErrorCode.ERROR_BAD_DEVICE, f"{os.path.dirname(real)} does not exist"
            ) from None
        return real
    except OSError as exc:
        raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{local}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{local}: not a directory")
    if owner_uid is not None and st.st_uid != owner_uid:
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{local}: not owned by uid {owner_uid}")
    return real


def lookup_local(local: str) -> str:
    """Normalise a local name for a query or cancel (no existence check). Blocking (realpath)."""
    if is_drive(local):
        return local.upper()
    return os.path.realpath(local)


class DrivesDirectory:
    """``<root>/<uid>/<letter>``: the directories the drives of each user are mounted on.

    ``<root>`` and ``<root>/<uid>`` stay the daemon's: a user who could rename entries there
    could swap X for a symlink to any directory just before the mount. Blocking throughout.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uid: int, drive: str) -> Path:
        return self.root / str(uid) / drive[0]

    def make(self, uid: int, drive: str) -> Path:
        """Create ``<root>/<uid>/X`` for a mount, owned by the user (mode 0700)."""
        for d in (self.root, self.root / str(uid)):
            with contextlib.suppress(FileExistsError):
                d.mkdir(mode=0o755, parents=True)
        path = self.path(uid, drive)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path} is not a directory") from None
        except OSError as exc:
            raise RasError(ErrorCode.ERROR_BAD_DEVICE, f"{path}: {exc.strerror}") from None
        if os.geteuid() == 0:
            os.chown(path, uid, -1)
        os.chmod(path, 0o700)
        return path

    def remove(self, uid: int, local: str | None) -> None:
        """Remove the directory of a drive again (nothing for a path or no local name)."""
        if local and is_drive(local):
            with contextlib.suppress(OSError):
                self.path(uid, local).rmdir()
