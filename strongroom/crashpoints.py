"""Moved to strongroom.web.crashpoints; this name stays until api/services/charges.py
imports it there."""

from strongroom.web.crashpoints import crash_at

__all__ = ["crash_at"]
