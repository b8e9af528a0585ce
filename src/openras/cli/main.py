"""openras: the daemon, the phonebook, dial / hang-up / status, the live event monitor,
net use. Every command takes --help; commands that print a result take --json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..client import ApiError, Client, entry_path
from ..client.ras import Ras
from ..codes import RASCS, ErrorCode, RasError, error_name, error_string, state_name
from ..entry_keys import DEVICE_KEYS, keys_help
from ..events.types import ConnectionEvent, Event, Overflow, Phase, encode
from ..i18n import _
from . import docs, password_warning
from .common import (
    EXIT_STATUS_HELP,
    describe_link,
    exit_status,
    link_summary,
    print_ras_error,
    print_warnings,
)
from .daemon_ctl import cmd_daemon_action, which_daemon
from .status_view import print_status

ENTRY_ACTIONS = ["list", "show", "create", "set", "rename", "delete", "trust", "keys"]
DAEMON_ACTIONS = ["run", "stop", "restart", "reload"]


def _client() -> Client:
    return Client()


def _kv(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(_("expected KEY=VALUE, got {pair!r}").format(pair=pair))
        out.append((key, value))
    return out


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def cmd_daemon(args: argparse.Namespace) -> int:
    if args.action != "run":
        return cmd_daemon_action(args.action, args.json)
    from ..daemon.main import run

    return run(verbose=args.verbose)


def cmd_entry(args: argparse.Namespace) -> int:
    if args.action == "keys":
        if args.json:
            _dump({device: list(keys) for device, keys in DEVICE_KEYS.items()})
        else:
            print(keys_help())
        return 0
    if args.action != "list" and not args.name:
        raise SystemExit(
            _("openras entry {action}: give the entry NAME (see --help)").format(action=args.action)
        )
    c = _client()
    if args.action == "list":
        entries = c.call("GET", "/v1/entries")
        if args.json:
            _dump(entries)
        else:
            if not entries:
                print(_("No entries"))
                return 0
            print(f"{'Name':<30} {'Device':<8} {'Owner':>6}  PhoneNumber")
            for e in entries:
                print(
                    f"{e['name']:<30} {e['device'] or '-':<8} {e.get('owner_uid', ''):>6}  "
                    f"{e['properties'].get('PhoneNumber', '')}"
                )
    elif args.action == "show":
        e = c.call("GET", entry_path(args.name))
        if args.json:
            _dump(e)
        else:
            print(f"[{e['name']}]")
            for k, v in e["lines"]:
                print(f"{k}={v}")
    elif args.action == "trust":
        from .trust import trust_entry

        return trust_entry(c, args.name, args.json, args.fingerprint, args.yes)
    else:
        if args.action == "create":
            body = {"name": args.name, "lines": _kv(args.pairs)}
            result = c.call("POST", "/v1/entries", json=body)
        elif args.action == "set":
            body = {"properties": dict(_kv(args.pairs))}
            result = c.call("PATCH", entry_path(args.name), json=body)
        elif args.action == "rename":
            if len(args.pairs) != 1:
                raise SystemExit("openras entry rename NAME NEW_NAME")
            result = c.call("PATCH", entry_path(args.name), json={"name": args.pairs[0]})
        else:
            result = c.call("DELETE", entry_path(args.name))
        if args.json:
            _dump(result)
        else:
            print_warnings(result.get("warnings") or [], args.name)
            print(
                _("Entry {name}: {action} done.").format(
                    name=result.get("name") or args.name, action=args.action
                )
            )
    return 0


def cmd_phonebook(args: argparse.Namespace) -> int:
    c = _client()
    if args.action == "import":
        from ..phonebook import read_text

        if not args.file:
            raise SystemExit("openras phonebook import FILE")
        try:
            text = read_text(args.file)
        except RasError as exc:
            raise ApiError(exc.code, detail=exc.detail) from None
        result = c.call(
            "POST", "/v1/phonebook/import", json={"text": text, "replace": args.replace}
        )
        if args.json:
            _dump(result)
            return 0
        print(_("imported: {names}").format(names=", ".join(result["imported"])))
        for name, warnings in (result.get("warnings") or {}).items():
            print_warnings(warnings, name)
    else:
        text = c.call("GET", "/v1/phonebook/export")["text"]
        if args.file:
            with open(args.file, "w", newline="") as f:
                f.write(text)
        if args.json:
            _dump({"file": args.file} if args.file else {"text": text})
        elif not args.file:
            sys.stdout.write(text)
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    changing = (
        args.user is not None
        or args.domain is not None
        or args.password is not None
        or args.password_stdin
        or args.remove_password
    )
    if not changing:
        # No option: show what is saved (never the password) rather than erase the user name.
        saved = _client().call("GET", entry_path(args.name, "credentials"))
        if args.json:
            _dump(saved)
        else:
            rows = (
                (_("Entry"), args.name),
                (_("User"), saved["user"] or _("(none)")),
                (_("Domain"), saved["domain"] or _("(none)")),
                (_("Password"), _("saved") if saved["have_password"] else _("not saved")),
            )
            for label, value in rows:
                print(f"{label:<10}{value}")
        return 0
    password = args.password
    password_warning.warn(password, "--password-stdin")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    c = _client()
    saved = c.call("GET", entry_path(args.name, "credentials"))
    body = {
        # An option not given keeps what is saved.
        "user": saved["user"] if args.user is None else args.user,
        "domain": saved["domain"] if args.domain is None else args.domain,
        "password": password,
        "remove_password": args.remove_password,
    }
    result = c.call("PUT", entry_path(args.name, "credentials"), json=body)
    if args.json:
        _dump(result)
    else:
        pw = _("saved") if result["have_password"] else _("not saved")
        print(
            _("Credentials of {entry}: user {user}, password {password}.").format(
                entry=args.name, user=result["user"] or _("(none)"), password=pw
            )
        )
    return 0


def cmd_dial(args: argparse.Namespace) -> int:
    ras = Ras(_client())
    password = args.password or ""
    password_warning.warn(password, "--password-stdin")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    started = ras.dial(
        args.entry, phonebook=args.phonebook, user=args.user or "", password=password
    )
    handle = started.handle
    last = None
    for note in ras.notifications(handle, started.seq):
        last = note
        if args.json:
            print(
                json.dumps(
                    {
                        "handle": handle,
                        "state": int(note.state),
                        "state_name": state_name(note.state),
                        "error": note.error,
                    }
                ),
                flush=True,
            )
        else:
            err = f"  error {note.error} {error_name(note.error)}" if note.error else ""
            print(f"[{handle}] {state_name(note.state)}{err}", flush=True)
    if last is not None and not last.error and last.state == RASCS.Connected:
        where = link_summary(ras.status(handle))
        if args.json:
            print(json.dumps({"handle": handle, "connected": True, **where}), flush=True)
        elif where:
            print(describe_link(where), flush=True)
        return 0
    code = last.error if last and last.error else ErrorCode.ERROR_NO_CONNECTION
    print_ras_error(code, last.detail if last else "")
    # As rasdial does: the failed handle is hung up, so it does not linger in status.
    try:
        ras.hangup(handle)
    except ApiError:
        pass
    return exit_status(code)


def _find_handle(ras: Ras, target: str) -> int:
    if target.isdigit():
        return int(target)
    # An entry may have a failed handle beside its live one: the live one is meant.
    rank = {Phase.CONNECTED: 0, Phase.DIALING: 1}
    matches = sorted(
        (c for c in ras.connections() if c.entry == target), key=lambda c: rank.get(c.phase, 2)
    )
    if matches:
        return matches[0].handle
    raise ApiError(ErrorCode.ERROR_INVALID_HANDLE, detail=f"no connection to {target}")


def cmd_hangup(args: argparse.Namespace) -> int:
    ras = Ras(_client())
    handle = _find_handle(ras, args.target)
    result = ras.hangup(handle)
    released = 1
    # --all: release every reference the caller may end (each hang-up releases one), bounded by
    # the references there were, so a holder dialing again meanwhile cannot loop us forever.
    bound = result.refs
    while args.all and result.refs > 0 and bound > 0:
        result = ras.hangup(handle)
        released += 1
        bound -= 1
    if not args.no_wait and result.refs == 0:
        ras.wait_gone(handle)
    if args.json:
        _dump({"handle": handle, "released": released, "refs": result.refs})
    elif result.refs:
        print(
            _(
                "Released {released} reference(s) to handle {handle}; {refs} remain, so the "
                "link stays up (openras hangup --all {target} ends it for every holder)."
            ).format(released=released, handle=handle, refs=result.refs, target=args.target)
        )
    else:
        print(_("Handle {handle} hung up.").format(handle=handle))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    client = _client()
    ras = Ras(client)
    handle = _find_handle(ras, args.handle) if args.handle else None
    return print_status(ras, handle, args.json, args.full, which_daemon(client))


def _format_event(event: Event) -> str:
    e = encode(event)
    when = (
        time.strftime("%H:%M:%S", time.localtime(e["time"]))
        + f".{int(e['time'] * 1000) % 1000:03d}"
    )
    if isinstance(event, ConnectionEvent):
        err = f" error={e['error']} {e['error_name']}" if e["error"] else ""
        note = f" [{e['notify']}]" if e["notify"] else ""
        return (
            f"{when} #{e['seq']:<6} {e['kind']:<9} h={e['handle']} {e['entry']} {e['state_name']}"
            f"{err}{note}"
        )
    rest = {k: v for k, v in e.items() if k not in ("seq", "time", "kind")}
    return f"{when} #{e['seq']:<6} {e['kind']:<9} {json.dumps(rest)}"


def cmd_monitor(args: argparse.Namespace) -> int:
    client = _client()
    filters = {"handle": args.handle, "kinds": args.kinds, "notify": args.notify}
    since = args.since
    while True:
        try:
            for event in client.events(since=since, **filters):
                print(json.dumps(encode(event)) if args.json else _format_event(event), flush=True)
                since = event.resume_from if isinstance(event, Overflow) else event.seq
        except ApiError:
            # The daemon went away (restart): resume from the last sequence number seen.
            time.sleep(0.5)
            client.close()
            continue


def cmd_completion(args: argparse.Namespace) -> int:
    parser = docs.rasdial_parser() if args.program == "rasdial" else build_parser()
    print(docs.completion(parser, args.shell))
    return 0


def cmd_man(args: argparse.Namespace) -> int:
    parsers = {
        "openras": build_parser(),
        "rasdial": docs.rasdial_parser(),
        "openras-net": docs.net_parser(),
    }
    if args.directory:
        for path in docs.write_manpages(args.directory, parsers):
            print(path)
        return 0
    print(docs.manpage(parsers[args.program], args.program))
    return 0


def cmd_net(args: argparse.Namespace) -> int:
    from .net import main as net_main

    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return net_main(rest)


def cmd_install_service(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..daemon.systemd import install_units

    for path in install_units(Path(args.prefix) if args.prefix else None, args.exec_start):
        print(_("wrote {path}").format(path=path))
    if not args.prefix:
        print(_("now: systemctl enable --now openras.socket"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="openras",
        description=__doc__,
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    docs.add_version(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser(
        "daemon",
        help="run the daemon in the foreground, or stop / restart / reload the one serving",
        description="run (default): serve in the foreground (for systemd). stop: hang every "
        "link up and exit. restart: stop, then start a new daemon. reload: re-read "
        "openras.toml without dropping links (also SIGHUP).",
    )
    d.add_argument("action", nargs="?", default="run", choices=DAEMON_ACTIONS)
    d.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    d.set_defaults(func=cmd_daemon)
    e = sub.add_parser(
        "entry",
        help="phonebook entries",
        description="List, show, create, change, rename, delete phonebook entries; trust an "
        "SSH entry's host key; list the keys each device reads.",
        epilog=keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("action", choices=ENTRY_ACTIONS)
    e.add_argument("name", nargs="?", help="the entry")
    e.add_argument("pairs", nargs="*", help="KEY=VALUE lines (rename: the new name)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.add_argument("--yes", action="store_true", help="trust: add the key without asking")
    e.add_argument(
        "--fingerprint", help="trust: add the key only if its fingerprint is this SHA256:..."
    )
    e.set_defaults(func=cmd_entry)
    pb = sub.add_parser("phonebook", help=_("import / export rasphone.pbk files"))
    pb.add_argument("action", choices=["import", "export"])
    pb.add_argument("file", nargs="?", help="the rasphone.pbk file (export: stdout without)")
    pb.add_argument("--replace", action="store_true", help="replace entries that exist")
    pb.add_argument("--json", action="store_true", help="print the result as JSON")
    pb.set_defaults(func=cmd_phonebook)
    cr = sub.add_parser(
        "credentials",
        help="show or save an entry's dial credentials",
        description="Without options: show the saved user, domain and whether a password is "
        "saved (never the password). With options: change only what is given.",
    )
    cr.add_argument("name", help="the entry")
    cr.add_argument("--user", help="user name to save")
    cr.add_argument("--domain", help="domain to save")
    cr.add_argument("--password", help="password to save (prefer --password-stdin)")
    cr.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    cr.add_argument("--remove-password", action="store_true", help="forget the saved password")
    cr.add_argument("--json", action="store_true", help="print the result as JSON")
    cr.set_defaults(func=cmd_credentials)
    di = sub.add_parser(
        "dial",
        help="dial an entry, showing every state",
        description="Dial ENTRY and print every state; once connected, print where the link "
        "is reachable (its SOCKS port or its interface).",
    )
    di.add_argument("entry", help="the entry to dial")
    di.add_argument("--user", help="user name (default: the saved one)")
    di.add_argument("--password", help="password (default: the saved one)")
    di.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    di.add_argument("--phonebook", help="read the entry from this rasphone.pbk file")
    di.add_argument("--json", action="store_true", help="one JSON object per state")
    di.set_defaults(func=cmd_dial)
    h = sub.add_parser(
        "hangup",
        help="hang up a handle or an entry; waits until it is gone",
        description="Release the caller's reference to a link; the link ends when no "
        "reference remains. --all ends it for every holder the caller may end.",
    )
    h.add_argument("target", help="a handle number or an entry name")
    h.add_argument("--all", action="store_true", help="release every reference")
    h.add_argument("--no-wait", action="store_true", help="return before teardown completes")
    h.add_argument("--json", action="store_true", help="print the result as JSON")
    h.set_defaults(func=cmd_hangup)
    s = sub.add_parser("status", help="connections, or one handle or entry")
    s.add_argument("handle", nargs="?", help="a handle number or an entry name")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.add_argument("--full", action="store_true", help="full status records, not RASCONN")
    s.set_defaults(func=cmd_status)
    m = sub.add_parser("monitor", help="the live event stream")
    m.add_argument("--since", type=int, help="resume after this sequence number")
    m.add_argument("--handle", type=int, help="only this handle's events")
    m.add_argument("--kinds", help="comma-separated event kinds")
    m.add_argument("--notify", help="connection,disconnection")
    m.add_argument("--json", action="store_true", help="one JSON object per event")
    m.set_defaults(func=cmd_monitor)
    i = sub.add_parser("install-service", help=_("install the systemd units (socket activation)"))
    i.add_argument("--prefix", help=_("write under PREFIX/etc/systemd/system instead of /etc"))
    i.add_argument("--exec-start", help=_("the daemon command (default: this interpreter)"))
    i.set_defaults(func=cmd_install_service)
    from .dashboard import add_parser as add_dashboard

    add_dashboard(sub)
    n = sub.add_parser(
        "net",
        help="net use: map network resources (openras net use /? for its syntax)",
        add_help=False,
    )
    n.add_argument("rest", nargs=argparse.REMAINDER)
    n.set_defaults(func=cmd_net)
    co = sub.add_parser("completion", help="print a shell completion script")
    co.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    co.add_argument("--program", choices=docs.PROGRAMS, default="openras")
    co.set_defaults(func=cmd_completion)
    ma = sub.add_parser("man", help="print a manual page (roff), or write them all")
    ma.add_argument(
        "program", nargs="?", choices=[*docs.PROGRAMS, "openras-net"], default="openras"
    )
    ma.add_argument("--directory", help="write openras.1, rasdial.1, openras-net.1 there")
    ma.set_defaults(func=cmd_man)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["net"]:
        # Windows syntax (/?, /DELETE...) and --help alike go to net use's own parser.
        argv = ["net", "--", *argv[1:]] if len(argv) > 1 else argv
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RasError as exc:
        if getattr(args, "json", False):
            _dump(
                {
                    "error": exc.code,
                    "name": error_name(exc.code),
                    # --json output never changes with the language.
                    "message": error_string(exc.code, "en"),
                    "detail": exc.detail,
                }
            )
        else:
            print_ras_error(exc.code, exc.detail)
        return exit_status(exc.code)
    except BrokenPipeError:
        return 0  # the reader (head, less) went away: nothing more to say
    except OSError as exc:
        # A file named on the command line (export target, ...): say which and why.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"openras: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
