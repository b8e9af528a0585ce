"""Help, version, shell completion and manual pages, all generated from the argparse parsers.

``rasdial`` and ``net use`` parse Windows syntax by hand (``/SWITCH:value``); the parsers
here describe that syntax for ``--help``, completion (shtab) and man pages
(argparse-manpage), so the three never drift from each other.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__

PROGRAMS = ("openras", "rasdial")


def version_line(prog: str) -> str:
    return f"{prog} (openras) {__version__}"


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=version_line(parser.prog.split()[0]))


class WindowsFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows ``/SWITCH:value`` as Windows writes it (argparse would write ``/SWITCH VALUE``)."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if action.option_strings and action.option_strings[0].startswith("/") and action.metavar:
            return f"{action.option_strings[0]}:{action.metavar}"
        return super()._format_action_invocation(action)


def _windows_parser(prog: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=WindowsFormatter,
        prefix_chars="-/",
    )


def rasdial_parser() -> argparse.ArgumentParser:
    """``rasdial``'s Windows syntax as a parser (used for help, completion and the man page)."""
    from .common import EXIT_STATUS_HELP

    p = _windows_parser(
        "rasdial",
        "Dial, list or hang up Remote Access connections (Windows rasdial syntax). Without "
        "arguments: list the connections. After a successful dial the link's SOCKS port or "
        "interface is printed.",
        "Switches are case-insensitive. /? or --help shows this text.\n\n" + EXIT_STATUS_HELP,
    )
    p.add_argument("entryname", nargs="?", help="the phonebook entry to dial or hang up")
    p.add_argument("username", nargs="?", help="user name to authenticate with")
    p.add_argument("password", nargs="?", help="password, or * to be asked for it")
    p.add_argument("/DOMAIN", metavar="domain", help="domain of the user")
    p.add_argument("/PHONE", metavar="number", help="number (host) to dial instead")
    p.add_argument("/CALLBACK", metavar="number", help="callback number")
    p.add_argument("/PHONEBOOK", metavar="file", help="read the entry from this rasphone.pbk file")
    p.add_argument("/PREFIXSUFFIX", action="store_true", help="accepted for compatibility")
    p.add_argument(
        "/DISCONNECT",
        action="store_true",
        help="hang up ENTRY (or the only connection); /D for short",
    )
    add_version(p)
    return p


def net_parser() -> argparse.ArgumentParser:
    """``openras net use``'s Windows syntax as a parser (help, completion, man page)."""
    p = _windows_parser(
        "openras net use",
        "Map network resources (SMB, SFTP) on a directory or a drive name, list and delete "
        "mappings (Windows NET USE syntax). Switches take any unambiguous prefix (/D, /P:N).",
        "DEVICE is a directory or a drive name like Z:. REMOTE is \\\\host\\share, "
        "smb://host/share or sftp://user@host/path. /PERSISTENT:YES also stores the password, "
        "so the mapping is restored when the daemon starts. An SFTP server's host key must be "
        "trusted first: openras net trust REMOTE.\n\n"
        "exit status: 0 success, 1 syntax error, 2 system error (the code, its text and the "
        "reason are printed).",
    )
    p.add_argument("device", nargs="?", help="directory, drive name (Z:) or * for the next free")
    p.add_argument("remote", nargs="?", help="the remote name")
    p.add_argument("password", nargs="?", help="password, or * to be asked for it")
    p.add_argument("/USER", metavar="[domain\\]user", help="the user to connect as")
    p.add_argument(
        "/PERSISTENT",
        metavar="{YES|NO}",
        help="remember the mapping (and its password) and restore it when the daemon starts",
    )
    p.add_argument("/DELETE", action="store_true", help="cancel the mapping")
    p.add_argument("/Y", action="store_true", help="answer yes (cancel with open files)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_version(p)
    return p


def is_help(token: str) -> bool:
    return token in ("--help", "-h", "/?", "-?", "/help", "/HELP")


def completion(parser: argparse.ArgumentParser, shell: str) -> str:
    import shtab

    return str(shtab.complete(parser, shell=shell))


def manpage(parser: argparse.ArgumentParser, name: str | None = None) -> str:
    from argparse_manpage.manpage import Manpage

    page = Manpage(
        parser,
        _data={"project_name": "openras", "version": __version__, "manual_title": "openras manual"},
    )
    page.prog = name or parser.prog.replace(" ", "-")  # one word: the .TH title and NAME
    return str(page)


def write_manpages(directory: str, parsers: dict[str, argparse.ArgumentParser]) -> list[str]:
    """Write ``<prog>.1`` for each parser into ``directory``; the files written."""
    import os

    os.makedirs(directory, exist_ok=True)
    written = []
    for name, parser in parsers.items():
        path = os.path.join(directory, f"{name}.1")
        with open(path, "w") as f:
            f.write(manpage(parser, name))
        written.append(path)
    return written


def print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stdout)
    return 0
