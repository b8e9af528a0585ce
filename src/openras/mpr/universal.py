"""WNetGetUniversalName: a local path under a redirected name → the remote form of that path.

A local path is ``X:`` followed by ``\\dir\\file`` (or ``/dir/file``) — the caller's drive X:,
whatever directory it is mounted on — or an absolute path under a mapped directory or under a
drive's mount directory. The answer is REMOTE_NAME_INFO's three strings: the universal name
(the remote name with the remaining path appended, ``\\``-separated for UNC names and
percent-encoded ``/`` components for URLs), the connection name (the remote name of the
connection) and the remaining path. Nothing here touches the file system: the path is taken as
written (``.`` and ``..`` are resolved lexically), as Windows does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import quote

DRIVE_PATH_RE = re.compile(r"^([A-Za-z]:)(?:[\\/](.*))?$", re.S)


@dataclass(frozen=True)
class UniversalName:
    universal_name: str
    connection_name: str
    remaining_path: str


def _components(text: str) -> tuple[str, ...]:
    norm = posixpath.normpath("/" + text.replace("\\", "/"))
    return tuple(p for p in norm.split("/") if p)


def split_drive(path: str) -> tuple[str, tuple[str, ...]] | None:
    """``("Z:", ("dir", "file"))`` for ``z:\\dir\\file``; None when it is not a drive path."""
    m = DRIVE_PATH_RE.match(path)
    if m is None:
        return None
    return m.group(1).upper(), _components(m.group(2) or "")


def under(path: str, directory: str) -> tuple[str, ...] | None:
    """The components of an absolute ``path`` below ``directory``; None when it is not there."""
    norm = posixpath.normpath(path)
    if norm == directory:
        return ()
    if norm.startswith(directory.rstrip("/") + "/"):
        return _components(norm[len(directory.rstrip("/")) :])
    return None


def universal(remote: str, rest: tuple[str, ...]) -> UniversalName:
    """The remote name with ``rest`` appended, in the remote name's own syntax."""
    if remote.startswith(("\\\\", "//")):
        remaining = "\\" + "\\".join(rest)
        base = remote.rstrip("\\/")
        return UniversalName(base + (remaining if rest else ""), remote, remaining)
    remaining = "/" + "/".join(rest)
    tail = "/".join(quote(p, safe="") for p in rest)
    return UniversalName(remote.rstrip("/") + ("/" + tail if rest else ""), remote, remaining)
