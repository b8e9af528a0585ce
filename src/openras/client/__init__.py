"""Talking to the daemon: :class:`Client` (sync), :class:`AsyncClient` (asyncio),
:class:`ApiError`."""

from .api import ApiError, AsyncClient, Client, entry_path

__all__ = ["ApiError", "AsyncClient", "Client", "entry_path"]
