"""``openras dashboard``: open the web dashboard as the calling user.

The daemon learns who asks from the Unix socket's peer credentials, starts its loopback site if
it is not running, and answers a URL with a one-time token (as Jupyter does). The token opens a
session only from a browser running as the same user (or root), so printing it or handing it to
the browser on its command line gives nothing away to other users.
"""

from __future__ import annotations

import argparse
import json
import os
import webbrowser

from ..client import Client
from ..i18n import _


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="open the web dashboard (a one-time URL)")
    p.add_argument(
        "--no-browser", action="store_true", help="print the URL only, do not start a browser"
    )
    p.add_argument("--json", action="store_true", help="print {url, port, expires_in}")
    p.set_defaults(func=run)


def _graphical() -> bool:
    # Without a display, webbrowser would start a text browser in this terminal.
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    with Client() as client:
        opened = client.call("POST", "/v1/dashboard/sessions")
    if args.json:
        print(json.dumps(opened))
    else:
        print(_("openras dashboard: {url}").format(url=opened["url"]))
        print(
            _("(the link opens one session, within {seconds} s)").format(
                seconds=int(opened["expires_in"])
            )
        )
    if not args.no_browser and not args.json and _graphical():
        webbrowser.open(opened["url"])
    return 0
