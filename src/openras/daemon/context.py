"""Compatibility: the context moved to :mod:`openras.context` (below the daemon and its services)."""

from ..context import DaemonContext

__all__ = ["DaemonContext"]
