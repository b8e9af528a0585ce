"""What the daemon hands to its services (the RAS manager, the MPR router).

It lives below both layers so that they need not import the daemon (dependencies point down)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Config
from .paths import Paths
from .store import Store

if TYPE_CHECKING:
    from .events import EventBus


@dataclass
class DaemonContext:
    paths: Paths
    config: Config
    store: Store
    events: EventBus
    log: logging.Logger
    uid: int  # the daemon's own uid (notifyee / hook files must be owned by it)
