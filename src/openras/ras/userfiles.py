"""Files an entry names (known hosts, keys, certificates, configs), read as the dialing user would.

The daemon may run as root for every local user: it must not read, for a user, a file that user
could not read — not through a symlinked directory, not by answering differently for a missing
file and a forbidden one (that would tell the user what exists under other users' homes), not
relative to the daemon's own working directory. So:

* a relative path (or ``~/…``) is resolved against the dialing user's home directory;
* when the daemon is root and the dialer is another user, the file is opened by a short-lived
  child running with the user's uid, gid and groups — the kernel makes every check, on every
  path component, exactly as for the user's own programs;
* otherwise (the dialer is root or the daemon's user, or a non-root daemon serves another user)
  the daemon opens it itself, with conservative checks on every directory of the real path;
* missing, forbidden, looping or not-a-directory paths all give the same 621 message.

The final component is never followed if it is a symlink (O_NOFOLLOW); ``private`` files (keys)
must belong to the user. Everything here blocks: call it in a thread.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys

from ..codes import ErrorCode, RasError
from ..users import is_privileged

MAX_USER_FILE = 256 * 1024
READ_TIMEOUT = 20.0

# The reader the child runs (python -I -S: no user site, no environment): argv[1] is the path,
# argv[2] the size limit, argv[3] "1" for a private file. Exit 0 with the bytes on stdout, or
# one of the statuses below.
_CANNOT_OPEN, _NOT_REGULAR, _TOO_LARGE, _NOT_OWNED = 10, 11, 12, 13
_READER = f"""
import os, stat, sys
path, limit, private = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
try:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
except OSError:
    sys.exit({_CANNOT_OPEN})
st = os.fstat(fd)
if not stat.S_ISREG(st.st_mode):
    sys.exit({_NOT_REGULAR})
if st.st_size > limit:
    sys.exit({_TOO_LARGE})
if private and st.st_uid != os.getuid():
    sys.exit({_NOT_OWNED})
data = b""
while len(data) <= limit:
    chunk = os.read(fd, limit + 1 - len(data))
    if not chunk:
        break
    data += chunk
if len(data) > limit:
    sys.exit({_TOO_LARGE})
sys.stdout.buffer.write(data)
"""


def _cannot_open(what: str, path: str, uid: int) -> RasError:
    # One message for every reason: missing and forbidden must look the same.
    return RasError(
        ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK,
        f"{what} {path}: cannot be opened by uid {uid} (missing or not permitted)",
    )


def resolve_user_path(path: str, uid: int, what: str = "file") -> str:
    """``path`` made absolute: relative paths (and ``~/``) start at ``uid``'s home directory."""
    if not path:
        raise RasError(ErrorCode.ERROR_CORRUPT_PHONEBOOK, f"{what} is not set")
    if os.path.isabs(path):
        return os.path.normpath(path)
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        home = ""
    if not home or not os.path.isabs(home):
        raise RasError(
            ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK,
            f"{what} {path}: a relative path needs a home directory, and uid {uid} has none",
        )
    rest = path[2:] if path.startswith("~/") else path
    return os.path.normpath(os.path.join(home, rest))


def _groups(uid: int) -> tuple[int, list[int]]:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return uid, []  # a uid without a passwd entry: its own number as group, no others
    return entry.pw_gid, os.getgrouplist(entry.pw_name, entry.pw_gid)


def _read_in_child(path: str, uid: int, what: str, private: bool) -> bytes:
    gid, groups = _groups(uid)
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _READER, path, str(MAX_USER_FILE), "01"[private]],
            capture_output=True,
            timeout=READ_TIMEOUT,
            user=uid,
            group=gid,
            extra_groups=groups,
            env={},
            cwd="/",
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise RasError(
            ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK, f"{what} {path}: read timed out"
        ) from None
    except OSError as exc:
        raise RasError(
            ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: {exc.strerror}"
        ) from None
    _check_status(done.returncode, path, uid, what)
    return done.stdout


def _check_status(status: int, path: str, uid: int, what: str) -> None:
    if status == 0:
        return
    if status == _NOT_REGULAR:
        raise RasError(ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK, f"{what} {path}: not a regular file")
    if status == _TOO_LARGE:
        raise RasError(
            ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK,
            f"{what} {path}: larger than {MAX_USER_FILE} bytes",
        )
    if status == _NOT_OWNED:
        raise RasError(ErrorCode.ERROR_ACCESS_DENIED, f"{what} {path} is not owned by uid {uid}")
    raise _cannot_open(what, path, uid)


def _may_reach(path: str, uid: int) -> bool:
    """Could ``uid`` search every directory of the real path above ``path``? (Owner or other
    bits only: conservative when the daemon cannot become the user.)"""
    directory = os.path.dirname(os.path.realpath(path))
    while True:
        try:
            st = os.stat(directory)
        except OSError:
            return False
        if not st.st_mode & (stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH):
            return False
        if directory == "/":
            return True
        directory = os.path.dirname(directory)


def _read_here(path: str, uid: int, what: str, private: bool) -> bytes:
    checked = not is_privileged(uid)
    if checked and not _may_reach(path, uid):
        raise _cannot_open(what, path, uid)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise _cannot_open(what, path, uid) from None
    try:
        st = os.fstat(fd)
        if checked and not st.st_mode & (stat.S_IRUSR if st.st_uid == uid else stat.S_IROTH):
            raise _cannot_open(what, path, uid)
        if not stat.S_ISREG(st.st_mode):
            _check_status(_NOT_REGULAR, path, uid, what)
        if st.st_size > MAX_USER_FILE:
            _check_status(_TOO_LARGE, path, uid, what)
        if checked and private and st.st_uid != uid:
            _check_status(_NOT_OWNED, path, uid, what)
        data = os.read(fd, MAX_USER_FILE + 1)
        if len(data) > MAX_USER_FILE:
            _check_status(_TOO_LARGE, path, uid, what)
        return data
    finally:
        os.close(fd)


def read_user_file(path: str, uid: int, what: str, private: bool = False) -> bytes:
    """The bytes of the file ``path`` names, read as ``uid`` would (see the module's text)."""
    full = resolve_user_path(path, uid, what)
    if not is_privileged(uid) and os.geteuid() == 0:
        return _read_in_child(full, uid, what, private)
    return _read_here(full, uid, what, private)
