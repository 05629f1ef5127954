"""Errors the sandboxes raise on set-up; the CLI prints them as one line (exit 2)."""

from __future__ import annotations


class SandboxSetupError(Exception):
    """A sandbox cannot start: a missing API description, a port in use, a bad option."""
