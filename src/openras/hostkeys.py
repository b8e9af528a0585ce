"""SSH host keys as OpenSSH users expect, for SSH links and SFTP mappings alike.

The known-hosts file is the dialing user's ``~/.ssh/known_hosts`` unless the entry (or
``[mpr.sftp] known_hosts``) names another; ``~`` and relative paths are resolved against that
user's home, never against the daemon's working directory or home. The file is read as far as
that user could read it (:func:`~openras.ras.devices.base.read_user_file`).

Failures have their own codes, so the message says what is wrong:

- no known-hosts file: 864 ``ERROR_EAP_SERVER_ROOT_CERT_NOT_FOUND`` (nothing that vouches for
  the server was found: the trust store itself is missing);
- a host key that is unknown or changed: 857 ``ERROR_EAP_SERVER_CERT_INVALID`` (the key the
  client authenticates the server with is not valid), with the key's fingerprint and the
  command that trusts it.
"""

from __future__ import annotations

import os
import pwd

import asyncssh

from .codes import ErrorCode, RasError

DEFAULT_FILE = "~/.ssh/known_hosts"
MISSING = ErrorCode.ERROR_EAP_SERVER_ROOT_CERT_NOT_FOUND
UNTRUSTED = ErrorCode.ERROR_EAP_SERVER_CERT_INVALID


def home_of(uid: int) -> str:
    """The home directory of ``uid`` ("" when it has none that exists). Blocking (NSS)."""
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        return ""
    return home if home and os.path.isdir(home) else ""


def resolve_for(path: str, uid: int, what: str = "known_hosts", code: int = MISSING) -> str:
    """``path`` as the user ``uid`` means it: ``~``, ``~/x``, ``~name/x`` and relative paths
    resolved against home directories; ``code`` when that cannot be done. Blocking (NSS)."""
    path = path.strip() or DEFAULT_FILE
    if path.startswith("~"):
        name, _, rest = path[1:].partition("/")
        if name:
            try:
                home = pwd.getpwnam(name).pw_dir
            except KeyError:
                raise RasError(code, f"{what} {path}: no user {name!r}") from None
        else:
            home = home_of(uid)
        if not home:
            raise RasError(
                code,
                f"{what} {path}: uid {uid} has no home directory; name the file with an "
                "absolute path",
            )
        return os.path.join(home, rest)
    if not os.path.isabs(path):
        home = home_of(uid)
        if not home:
            raise RasError(
                code, f"{what} {path}: a relative path, and uid {uid} has no home directory"
            )
        return os.path.join(home, path)
    return path


def pattern(host: str, port: int) -> str:
    """The known_hosts host pattern OpenSSH writes for ``host`` and ``port``."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    return str(key.get_fingerprint("sha256"))


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    public = key.export_public_key("openssh").decode("ascii").split()
    return f"{pattern(host, port)} {public[0]} {public[1]}"


def load(path: str, uid: int, trust_command: str, what: str = "known_hosts") -> bytes:
    """The known-hosts file's bytes, read as ``uid`` (blocking: call it in a thread).

    A file that is missing and one this user may not read get the same answer (864), so that
    nobody learns through a dial which files exist where they cannot look."""
    from .ras.devices.base import read_user_file

    try:
        return read_user_file(path, uid, what)
    except RasError as exc:
        if exc.code == ErrorCode.ERROR_CANNOT_OPEN_PHONEBOOK:
            raise missing(path, None, trust_command) from None
        raise


def missing(path: str, key: asyncssh.SSHKey | None, trust_command: str) -> RasError:
    """The 864 error: no known-hosts file, so no host key is trusted yet."""
    return RasError(
        MISSING,
        f"no known-hosts file {path} that you can read: no host key is trusted yet"
        f"{offered(key)}; "
        f"if that is the server's key, trust it with: {trust_command}",
    )


def parse(data: bytes, path: str) -> asyncssh.SSHKnownHosts:
    try:
        return asyncssh.import_known_hosts(data.decode("utf-8", "replace"))
    except (ValueError, asyncssh.KeyImportError) as exc:
        raise RasError(ErrorCode.ERROR_CANNOT_LOAD_PHONEBOOK, f"{path}: {exc}") from None


async def server_key(host: str, port: int, limit: float) -> asyncssh.SSHKey | None:
    """The host key the server offers (a key exchange, no login); None if it cannot be had."""
    import asyncio

    try:
        async with asyncio.timeout(limit):
            return await asyncssh.get_server_host_key(host, port, config=None)
    except (OSError, TimeoutError, asyncssh.Error):
        return None


def offered(key: asyncssh.SSHKey | None) -> str:
    """``; the server offers <alg> key SHA256:...`` (empty when the key could not be had)."""
    return f"; the server offers {key.get_algorithm()} key {fingerprint(key)}" if key else ""


def untrusted(
    host: str, port: int, path: str, key: asyncssh.SSHKey | None, reason: str, trust_command: str
) -> RasError:
    """The 857 error for a host key the known-hosts file does not vouch for."""
    return RasError(
        UNTRUSTED,
        f"host key of {pattern(host, port)} is not trusted by {path} ({reason}){offered(key)}; "
        f"if that is the server's key, trust it with: {trust_command}",
    )


def append(path: str, host: str, port: int, key: asyncssh.SSHKey) -> str:
    """Add the key to a known-hosts file (as the calling user, who owns it); the line added."""
    line = known_hosts_line(host, port, key)
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "a") as f:
        if f.tell() > 0:
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write("\n")
        f.write(line + "\n")
    return line
