"""The web dashboard the daemon serves on a loopback port, opened by ``openras dashboard``."""

from __future__ import annotations

from .server import DashboardService

__all__ = ["DashboardService"]
