"""``rasdial`` with the Windows syntax.

    rasdial ENTRY [USER [PASSWORD|*]] [/DOMAIN:d] [/PHONE:n] [/CALLBACK:n]
            [/PHONEBOOK:file] [/PREFIXSUFFIX]
    rasdial [ENTRY] /DISCONNECT
    rasdial

Exit status: the RAS error code (modulo 256, see cli.common.exit_status), 0 on success.
"""

from __future__ import annotations

import getpass
import os
import sys

from ..client import ApiError, Client
from ..client.ras import Ras
from ..codes import RASCS, ErrorCode
from ..events.types import Phase
from ..i18n import N_, _
from . import docs, password_warning
from .common import describe_link, exit_status, link_summary, print_ras_error

USAGE = N_("""USAGE:
        rasdial entryname [username [password|*]] [/DOMAIN:domain]
                [/PHONE:phonenumber] [/CALLBACK:callbacknumber]
                [/PHONEBOOK:phonebookfile] [/PREFIXSUFFIX]

        rasdial [entryname] /DISCONNECT

        rasdial
""")

PROGRESS = {
    RASCS.OpenPort: N_("Connecting to {entry}..."),
    RASCS.Authenticate: N_("Verifying username and password..."),
    RASCS.AuthProject: N_("Registering your computer on the network..."),
    RASCS.Projected: N_("Registering your computer on the network..."),
}


def _parse(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    switches: dict[str, str] = {}
    for arg in argv:
        if arg.startswith("-") and not positional:
            # Not Windows syntax, and never an entry name: "rasdial --user x" must not dial.
            # (A user name or password may start with "-".)
            raise ValueError(f"unknown option {arg} (rasdial switches are /SWITCH; see /?)")
        if arg.startswith("/") and len(arg) > 1 and not os.path.exists(arg):
            name, _sep, value = arg[1:].partition(":")
            name = name.upper()
            if name == "D":
                name = "DISCONNECT"
            if name not in (
                "DOMAIN",
                "PHONE",
                "CALLBACK",
                "PHONEBOOK",
                "PREFIXSUFFIX",
                "DISCONNECT",
                "?",
            ):
                raise ValueError(_("unknown switch /{name}").format(name=name))
            switches[name] = value
        else:
            positional.append(arg)
    if len(positional) > 3:
        raise ValueError(_("too many arguments"))
    return positional, switches


def list_connections(ras: Ras) -> int:
    conns = ras.enumerate(phases=(Phase.CONNECTED,))
    if not conns:
        print(_("No connections"))
    else:
        print(_("Connected to"))
        for c in conns:
            print(c.entry)
    print(_("Command completed successfully."))
    return 0


def disconnect(ras: Ras, entry: str | None) -> int:
    conns = ras.enumerate(phases=(Phase.DIALING, Phase.CONNECTED, Phase.FAILED))
    if entry:
        conns = [c for c in conns if c.entry == entry]
    if not conns:
        print_ras_error(
            ErrorCode.ERROR_NO_CONNECTION,
            _("no connection to {entry}").format(entry=entry) if entry else _("no connections"),
        )
        return exit_status(ErrorCode.ERROR_NO_CONNECTION)
    if not entry and len(conns) > 1:
        print(_("More than one connection is active: give the entry name."), file=sys.stderr)
        return exit_status(ErrorCode.ERROR_INVALID_PARAMETER)
    # Return only once the connections are gone (status answers ERROR_INVALID_HANDLE); a
    # hang-up that only dropped this user's reference to a shared link has nothing to wait for.
    ending = [c.handle for c in conns if ras.hangup(c.handle).refs == 0]
    for handle in ending:
        ras.wait_gone(handle)
    print(_("Command completed successfully."))
    return 0


def dial(ras: Ras, entry: str, user: str, password: str, switches: dict[str, str]) -> int:
    if password == "*":
        password = getpass.getpass(
            _("Enter the password for {user} to connect to {entry}: ").format(
                user=user, entry=entry
            )
        )
    started = ras.dial(
        entry,
        phonebook=switches.get("PHONEBOOK") or None,
        phone_number=switches.get("PHONE", ""),
        user=user,
        password=password,
        domain=switches.get("DOMAIN", ""),
        callback_number=switches.get("CALLBACK", ""),
    )
    handle = started.handle
    shown: set[str] = set()
    last = None
    for note in ras.notifications(handle, started.seq):
        last = note
        line = PROGRESS.get(note.state)
        if line and not note.error and line not in shown:
            shown.add(line)
            print(_(line).format(entry=entry), flush=True)
    if last is not None and not last.error and last.state == RASCS.Connected:
        print(_("Successfully connected to {entry}.").format(entry=entry))
        where = link_summary(ras.status(handle))
        if where:
            print(describe_link(where))
        print(_("Command completed successfully."))
        return 0
    code = last.error if last and last.error else ErrorCode.ERROR_DISCONNECTION
    print_ras_error(code, last.detail if last else "")
    # Like rasdial.exe: a failed dial's handle is hung up before exiting.
    try:
        ras.hangup(handle)
    except ApiError:
        pass
    return exit_status(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(docs.is_help(a) for a in argv):
        docs.rasdial_parser().print_help()
        print()
        print(_(USAGE))
        return 0
    if "--version" in argv:
        print(docs.version_line("rasdial"))
        return 0
    try:
        positional, switches = _parse(argv)
    except ValueError as exc:
        print(f"{exc}\n\n{_(USAGE)}", file=sys.stderr)
        return exit_status(ErrorCode.ERROR_INVALID_PARAMETER)
    ras = Ras(Client())
    try:
        if "DISCONNECT" in switches:
            return disconnect(ras, positional[0] if positional else None)
        if not positional:
            return list_connections(ras)
        entry = positional[0]
        user = positional[1] if len(positional) > 1 else ""
        password = positional[2] if len(positional) > 2 else ""
        password_warning.warn(password)
        return dial(ras, entry, user, password, switches)
    except ApiError as exc:
        print_ras_error(exc.code, exc.detail)
        return exit_status(exc.code)
    except KeyboardInterrupt:
        return exit_status(ErrorCode.ERROR_USER_DISCONNECTION)


if __name__ == "__main__":
    raise SystemExit(main())
