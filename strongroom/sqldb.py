"""Moved to strongroom.web.sqldb; this name stays until api/store/db.py imports it there."""

from strongroom.web.sqldb import make_engine, migrate_to_head, session_factory

__all__ = ["make_engine", "migrate_to_head", "session_factory"]
