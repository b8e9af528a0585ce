"""Fixtures for the provider tests: the real smbd (tests/peers/smbd.py) and, when present, sshd."""

from __future__ import annotations

from peers.smbd import smbd  # noqa: F401 - a fixture
