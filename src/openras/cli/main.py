"""``openras``: the daemon, the phonebook, dial / hang-up / status, the live event monitor,
``net use``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..client import ApiError, Client, entry_path
from ..client.ras import Ras
from ..codes import RASCS, ErrorCode, error_name, error_string, state_name
from ..events.types import ConnectionEvent, Event, Overflow, encode
from ..i18n import _
from . import password_warning
from .common import exit_status, print_ras_error
from .status_view import print_status


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
    from ..daemon.main import run

    return run(verbose=args.verbose)


def cmd_entry(args: argparse.Namespace) -> int:
    c = _client()
    if args.action == "list":
        entries = c.call("GET", "/v1/entries")
        if args.json:
            _dump(entries)
        else:
            for e in entries:
                print(f"{e['name']:<30} {e['device']:<8} {e['properties'].get('PhoneNumber', '')}")
    elif args.action == "show":
        e = c.call("GET", entry_path(args.name))
        if args.json:
            _dump(e)
        else:
            print(f"[{e['name']}]")
            for k, v in e["lines"]:
                print(f"{k}={v}")
    elif args.action == "create":
        _dump(c.call("POST", "/v1/entries", json={"name": args.name, "lines": _kv(args.pairs)}))
    elif args.action == "set":
        _dump(c.call("PATCH", entry_path(args.name), json={"properties": dict(_kv(args.pairs))}))
    elif args.action == "rename":
        _dump(c.call("PATCH", entry_path(args.name), json={"name": args.pairs[0]}))
    elif args.action == "delete":
        c.call("DELETE", entry_path(args.name))
    return 0


def cmd_phonebook(args: argparse.Namespace) -> int:
    c = _client()
    if args.action == "import":
        from ..phonebook import _decode

        with open(args.file, "rb") as f:
            text = _decode(f.read())
        result = c.call(
            "POST", "/v1/phonebook/import", json={"text": text, "replace": args.replace}
        )
        print(_("imported: {names}").format(names=", ".join(result["imported"])))
    else:
        text = c.call("GET", "/v1/phonebook/export")["text"]
        if args.file:
            with open(args.file, "w", newline="") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    password = args.password
    password_warning.warn(password, "--password-stdin")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    body = {
        "user": args.user,
        "domain": args.domain,
        "password": password,
        "remove_password": args.remove_password,
    }
    _dump(_client().call("PUT", entry_path(args.name, "credentials"), json=body))
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
        return 0
    code = last.error if last and last.error else ErrorCode.ERROR_NO_CONNECTION
    print_ras_error(code, last.detail if last else "")
    return exit_status(code)


def _find_handle(ras: Ras, target: str) -> int:
    if target.isdigit():
        return int(target)
    for conn in ras.enumerate():
        if conn.entry == target:
            return conn.handle
    raise ApiError(ErrorCode.ERROR_INVALID_HANDLE, detail=f"no connection to {target}")


def cmd_hangup(args: argparse.Namespace) -> int:
    ras = Ras(_client())
    handle = _find_handle(ras, args.target)
    result = ras.hangup(handle)
    if not args.no_wait and result.refs == 0:
        ras.wait_gone(handle)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    return print_status(Ras(_client()), args.handle, args.json, args.full)


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


def cmd_net(args: argparse.Namespace) -> int:
    from .net import main as net_main

    return net_main(args.rest)


def cmd_install_service(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..daemon.systemd import install_units

    for path in install_units(Path(args.prefix) if args.prefix else None, args.exec_start):
        print(f"wrote {path}")
    if not args.prefix:
        print("now: systemctl enable --now openras.socket")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="openras", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("daemon", help=_("run the daemon in the foreground"))
    d.add_argument("-v", "--verbose", action="store_true")
    d.set_defaults(func=cmd_daemon)
    e = sub.add_parser("entry", help=_("phonebook entries"))
    e.add_argument("action", choices=["list", "show", "create", "set", "rename", "delete"])
    e.add_argument("name", nargs="?")
    e.add_argument("pairs", nargs="*", help=_("KEY=VALUE lines (rename: the new name)"))
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_entry)
    pb = sub.add_parser("phonebook", help=_("import / export rasphone.pbk files"))
    pb.add_argument("action", choices=["import", "export"])
    pb.add_argument("file", nargs="?")
    pb.add_argument("--replace", action="store_true")
    pb.set_defaults(func=cmd_phonebook)
    cr = sub.add_parser("credentials", help=_("save an entry's dial credentials"))
    cr.add_argument("name")
    cr.add_argument("--user", default="")
    cr.add_argument("--domain", default="")
    cr.add_argument("--password")
    cr.add_argument("--password-stdin", action="store_true")
    cr.add_argument("--remove-password", action="store_true")
    cr.set_defaults(func=cmd_credentials)
    di = sub.add_parser("dial", help=_("dial an entry, showing every state"))
    di.add_argument("entry")
    di.add_argument("--user")
    di.add_argument("--password")
    di.add_argument("--password-stdin", action="store_true")
    di.add_argument("--phonebook")
    di.add_argument("--json", action="store_true")
    di.set_defaults(func=cmd_dial)
    h = sub.add_parser("hangup", help=_("hang up a handle or an entry; waits until it is gone"))
    h.add_argument("target")
    h.add_argument("--no-wait", action="store_true")
    h.set_defaults(func=cmd_hangup)
    s = sub.add_parser("status", help=_("connections, or one handle"))
    s.add_argument("handle", nargs="?")
    s.add_argument("--json", action="store_true")
    s.add_argument("--full", action="store_true", help="full status records, not RASCONN")
    s.set_defaults(func=cmd_status)
    m = sub.add_parser("monitor", help=_("the live event stream"))
    m.add_argument("--since", type=int)
    m.add_argument("--handle", type=int)
    m.add_argument("--kinds")
    m.add_argument("--notify")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_monitor)
    i = sub.add_parser("install-service", help=_("install the systemd units (socket activation)"))
    i.add_argument("--prefix", help=_("write under PREFIX/etc/systemd/system instead of /etc"))
    i.add_argument("--exec-start", help=_("the daemon command (default: this interpreter)"))
    i.set_defaults(func=cmd_install_service)
    from .dashboard import add_parser as add_dashboard

    add_dashboard(sub)
    n = sub.add_parser("net", help=_("net use: map network resources"), add_help=False)
    n.add_argument("rest", nargs=argparse.REMAINDER)
    n.set_defaults(func=cmd_net)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ApiError as exc:
        if getattr(args, "json", False):
            _dump(
                {
                    "error": exc.code,
                    "name": exc.name,
                    # --json output never changes with the language.
                    "message": error_string(exc.code, "en"),
                    "detail": exc.detail,
                }
            )
        else:
            print_ras_error(exc.code, exc.detail)
        return exit_status(exc.code)
    except KeyboardInterrupt:
        return 130
