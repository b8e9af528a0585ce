"""Fixtures for the Windows-program tests: the real smbd (peers/smbd.py); sshd comes from
peers.fixtures."""

from __future__ import annotations

from peers.smbd import smbd  # noqa: F401 - a fixture
