"""SIGHUP: re-read openras.toml without dropping a link.

The new values are copied into the one Config object every service holds, so what is read at
use (socket admission, device options of the next dial, notifyee time-outs) follows at once;
links already up keep the options they were dialed with. A file that does not load leaves the
running configuration as it was, and says why in the log and the event stream.
"""

from __future__ import annotations

import dataclasses
import os

from .. import config as config_mod
from ..codes import RasError
from ..context import DaemonContext
from ..events import DaemonChanged


def reload(ctx: DaemonContext) -> bool:
    path = ctx.paths.config_file
    try:
        new = config_mod.load(path)
    except RasError as exc:
        ctx.log.error("reload refused, the running configuration stays: %s", exc.detail)
        ctx.events.publish(DaemonChanged(action="reload-failed", pid=os.getpid()))
        return False
    for f in dataclasses.fields(new):
        setattr(ctx.config, f.name, getattr(new, f.name))
    mode = 0o666 if ctx.config.allow_users else 0o600
    try:
        os.chmod(ctx.paths.socket, mode)
    except OSError as exc:
        ctx.log.warning("socket mode not changed: %s", exc)
    ctx.log.info("configuration reloaded from %s", path)
    ctx.events.publish(DaemonChanged(action="reloaded", pid=os.getpid()))
    return True
