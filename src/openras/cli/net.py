"""``openras net use``: Windows' ``NET USE`` syntax and output (reference/mpr.md §7).

    net use [device | *] [\\\\computer\\share [password | *]] [/USER:[domain\\]user]
            [/PERSISTENT:{YES|NO}] [/DELETE] [/Y] [--json]
    net use * /DELETE [/Y]
    net use [/PERSISTENT:{YES|NO}]

A device is ``X:`` or an absolute directory path; a remote name is UNC, smb:// or sftp://.
Switches take any unambiguous prefix (``/D``, ``/P:N``), as net.exe does; a token such as
``/mnt`` that names no switch is a path when it exists, else an unknown option. ``/PERSISTENT``
also becomes the user's default for later connections ("the setting used last"). ``/Y``
answers the questions net.exe would ask, which here means: cancel even with open files.
Exit status 0 on success, 2 on a system error ("System error NN has occurred."), 1 on a
syntax error — net.exe's statuses. ``--json`` prints the result, or the error with its code.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from typing import Any

from ..client import ApiError
from ..client.net import NetClient
from ..codes import ErrorCode, error_name, error_string
from ..i18n import N_, _
from ..mpr.netresource import (
    CONNECT_COMMANDLINE,
    CONNECT_REDIRECT,
    CONNECT_TEMPORARY,
    CONNECT_UPDATE_PROFILE,
    NETRESOURCE,
    RESOURCETYPE_DISK,
)
from . import docs, password_warning

SWITCHES = ("USER", "PERSISTENT", "DELETE", "YES", "NO", "SAVECRED", "JSON")
SYNTAX = N_(r"""The syntax of this command is:

NET USE
[devicename | *] [\\computername\sharename[\volume] [password | *]]
        [/USER:[domainname\]username]
        [/PERSISTENT:{YES | NO}]

NET USE {devicename | *} /DELETE [/Y]

NET USE [/PERSISTENT:{YES | NO}]
""")
# The statuses of the API's listing, shown translated (the JSON keeps them as they are).
STATUSES = (N_("OK"), N_("Disconnected"), N_("Unavailable"))
RULE = "-" * 79
DRIVE = re.compile(r"^[A-Za-z]:$")


class Usage(Exception):
    pass


def _switch(token: str) -> tuple[str, str | None] | None:
    """``/NAME[:value]`` with NAME a prefix of a known switch; None for anything else (a path)."""
    m = re.match(r"^/([A-Za-z]+)(?::(.*))?$", token)
    if not m:
        return None
    name = m.group(1).upper()
    matches = [s for s in SWITCHES if s.startswith(name)]
    if name in SWITCHES:
        matches = [name]
    if len(matches) != 1:
        # "/mnt" may be a mount point: a path when it exists, an unknown option otherwise.
        if not matches and not os.path.lexists(token):
            raise Usage(_("The option {token} is unknown.").format(token=token))
        return None
    return matches[0], m.group(2)


def _yes_no(value: str | None, token: str) -> bool:
    if value and "YES".startswith(value.upper()):
        return True
    if value and "NO".startswith(value.upper()):
        return False
    raise Usage(
        _("{value} is not a valid input for the {token} option.").format(
            value=value or "", token=token
        )
    )


def _is_remote(token: str) -> bool:
    return (
        token.startswith("\\\\")
        or (token.startswith("//") and not token.startswith("///"))
        or "://" in token
    )


class NetUse:
    def __init__(self, net: NetClient, as_json: bool) -> None:
        self.net = net
        self.as_json = as_json

    def out(self, text: str = "") -> None:
        print(text)

    def done(self, data: Any = None) -> int:
        if self.as_json:
            print(json.dumps(data if data is not None else {}, indent=2))
        else:
            self.out(_("The command completed successfully."))
            self.out()
        return 0

    # -- listing -------------------------------------------------------------------------
    def listing(self) -> int:
        uses = self.net.list_connections()
        if self.as_json:
            print(json.dumps(uses.to_json(), indent=2))
            return 0
        self.out(
            _("New connections will be remembered.")
            if uses.persistent
            else _("New connections will not be remembered.")
        )
        self.out()
        rows = uses.connections
        if not rows:
            self.out(_("There are no entries in the list."))
            self.out()
            return 0
        self.out()
        # Outside the f-string: the extractor does not look inside one.
        status, local, remote, network = _("Status"), _("Local"), _("Remote"), _("Network")
        self.out(f"{status:<13}{local:<10}{remote:<26}{network}")
        self.out()
        self.out(RULE)
        for r in rows:
            self.out(format_row(_(r.status), r.local_name or "", r.remote_name, r.provider))
        return self.done()

    def show(self, device: str) -> int:
        local = device.upper() if DRIVE.match(device) else os.path.realpath(device)
        rows = [r for r in self.net.list_connections().connections if r.local_name == local]
        if not rows:
            raise ApiError(ErrorCode.ERROR_NOT_CONNECTED)
        r = rows[0]
        if self.as_json:
            print(json.dumps(r.to_json(), indent=2))
            return 0
        for label, value in (
            (_("Local name"), r.local_name),
            (_("Remote name"), r.remote_name),
            (_("Resource type"), _("Disk")),
            (_("Status"), _(r.status)),
            (_("User name"), r.user or ""),
            (_("Provider"), r.provider),
        ):
            self.out(f"{label:<18}{value}")
        return self.done()

    # -- add / delete --------------------------------------------------------------------
    def add(
        self,
        device: str | None,
        remote: str,
        password: str | None,
        user: str | None,
        persistent: bool | None,
    ) -> int:
        if persistent is None:
            persistent = self.net.get_persistent()
        else:
            self.net.set_persistent(persistent)
        flags = CONNECT_COMMANDLINE
        if device is not None:
            flags |= CONNECT_UPDATE_PROFILE if persistent else CONNECT_TEMPORARY
        if device == "*":
            flags |= CONNECT_REDIRECT
            device = None
        if password == "*":
            password = getpass.getpass(_("Type the password for {remote}:").format(remote=remote))
        resource = NETRESOURCE(dwType=RESOURCETYPE_DISK, lpRemoteName=remote, lpLocalName=device)
        result = self.net.add_connection(resource, password, user, flags)
        if self.as_json:
            print(json.dumps(result.to_json(), indent=2))
            return 0
        for e in result.notifyee_errors:
            print(
                _("Warning: notifyee {notifyee} was skipped: {error}").format(
                    notifyee=e.notifyee, error=e.error
                ),
                file=sys.stderr,
            )
        if flags & CONNECT_REDIRECT:
            self.out(
                _("Drive {local} is now connected to {remote}.").format(
                    local=result.local_name, remote=remote
                )
            )
            self.out()
        return self.done()

    def delete(self, name: str, force: bool) -> int:
        result = self.net.cancel_connection(name, CONNECT_UPDATE_PROFILE, force)
        if self.as_json:
            print(json.dumps(result.to_json(), indent=2))
            return 0
        self.out(_("{name} was deleted successfully.").format(name=name))
        self.out()
        return 0

    def delete_all(self, answer: bool | None) -> int:
        rows = self.net.list_connections().connections
        if not rows:
            if self.as_json:
                print(json.dumps({"deleted": []}))
                return 0
            self.out(_("There are no entries in the list."))
            self.out()
            return 0
        if answer is None and not self.as_json:
            self.out(_("You have these remote connections:"))
            self.out()
            for r in rows:
                self.out(f"    {r.local_name or '':<10}{r.remote_name}")
            self.out(_("Continuing will cancel the connections."))
            self.out()
            try:
                reply = input(_("Do you want to continue this operation? (Y/N) [N]: "))
            except EOFError:
                reply = ""
            answer = reply.strip().upper().startswith("Y")
        if not answer:
            if self.as_json:
                print(json.dumps({"deleted": []}))
            return 0
        deleted = []
        for name in dict.fromkeys(r.local_name or r.remote_name for r in rows):
            self.net.cancel_connection(name, CONNECT_UPDATE_PROFILE, force=True)
            deleted.append(name)
        return self.done({"deleted": deleted})


def format_row(status: str, local: str, remote: str, network: str) -> str:
    local_col = f"{local:<10}" if len(local) < 10 else local + " "
    if len(remote) <= 25:
        return f"{status:<13}{local_col}{remote:<26}{network}"
    # net.exe puts the network on its own line, under its column, when the remote name is long.
    return f"{status:<13}{local_col}{remote}\n{'':<49}{network}"


def parse(argv: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "positional": [],
        "user": None,
        "persistent": None,
        "delete": False,
        "answer": None,
        "json": False,
    }
    for token in argv:
        if token == "--json":
            opts["json"] = True
            continue
        sw = _switch(token) if token.startswith("/") else None
        if sw is None:
            opts["positional"].append(token)
            continue
        name, value = sw
        if name == "USER":
            if not value:
                raise Usage(_("A user name is required with /USER."))
            opts["user"] = value
        elif name == "PERSISTENT":
            opts["persistent"] = _yes_no(value, "/PERSISTENT")
        elif name == "DELETE":
            opts["delete"] = True
        elif name in ("YES", "NO"):
            opts["answer"] = name == "YES"
        elif name == "JSON":
            opts["json"] = True
        # SAVECRED: the password of a remembered connection is always kept (in the daemon's store).
    return opts


def run_use(net: NetClient, opts: dict[str, Any]) -> int:
    pos: list[str] = opts["positional"]
    use = NetUse(net, opts["json"])
    device: str | None = None
    if pos and not _is_remote(pos[0]):
        device = pos.pop(0)
        if device != "*" and not DRIVE.match(device) and not device.startswith("/"):
            raise ApiError(ErrorCode.ERROR_BAD_DEVICE)
    remote = pos.pop(0) if pos and _is_remote(pos[0]) else None
    password = pos.pop(0) if pos and remote else None
    password_warning.warn(password)
    if pos:
        raise Usage(_("Unexpected argument {arg}.").format(arg=pos[0]))
    if opts["delete"]:
        if device == "*" and remote is None:
            return use.delete_all(opts["answer"])
        target = device if device is not None else remote
        if target is None or target == "*":
            raise Usage(_("/DELETE needs a device or a remote name."))
        return use.delete(target, bool(opts["answer"]))
    if remote is None:
        if device is None:
            if opts["persistent"] is not None:
                net.set_persistent(opts["persistent"])
                return use.done({"persistent": opts["persistent"]})
            return use.listing()
        if device == "*":
            raise Usage(_("* needs a remote name."))
        return use.show(device)
    return use.add(device, remote, password, opts["user"], opts["persistent"])


def run_trust(argv: list[str]) -> int:
    """``openras net trust REMOTE [--known-hosts F] [--fingerprint FP] [--yes] [--json]``."""
    import argparse

    from .trust import trust_remote

    p = argparse.ArgumentParser(
        prog="openras net trust",
        description="Add an SFTP server's host key to your known-hosts file.",
    )
    p.add_argument("remote", help="sftp://[user@]host[:port]/path or \\\\host\\path")
    p.add_argument("--known-hosts", default="", help="default: ~/.ssh/known_hosts")
    p.add_argument("--fingerprint", help="add the key only if it has this SHA256 fingerprint")
    p.add_argument("--yes", action="store_true", help="add the key without asking")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    return trust_remote(args.remote, args.known_hosts, args.json, args.fingerprint, args.yes)


def main(argv: list[str]) -> int:
    """``openras net <argv>``; the exit status."""
    as_json = "--json" in argv
    if any(docs.is_help(a) for a in argv) and not (argv and argv[0].upper() == "TRUST"):
        docs.net_parser().print_help()
        print()
        print(_(SYNTAX))
        return 0
    if "--version" in argv:
        print(docs.version_line("openras net"))
        return 0
    try:
        if argv and argv[0].upper() == "TRUST":
            return run_trust(argv[1:])
        if not argv or argv[0].upper() != "USE":
            raise Usage("")
        opts = parse(argv[1:])
        with NetClient() as net:
            return run_use(net, opts)
    except Usage as exc:
        if str(exc):
            print(str(exc), file=sys.stderr)
            print(file=sys.stderr)
        print(_(SYNTAX), file=sys.stderr)
        return 1
    except ApiError as exc:
        if as_json:
            print(
                json.dumps(
                    {
                        "error": exc.code,
                        "name": error_name(exc.code),
                        # --json output never changes with the language.
                        "message": error_string(exc.code, "en"),
                        "detail": exc.detail,
                    },
                    indent=2,
                )
            )
        else:
            print(_("System error {code} has occurred.").format(code=exc.code), file=sys.stderr)
            print(file=sys.stderr)
            print(error_string(exc.code), file=sys.stderr)
            if exc.detail and exc.detail != error_string(exc.code):
                print(f"  ({exc.detail})", file=sys.stderr)  # why, as rasdial says it
            print(file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
