"""Bring a database to the newest schema with Alembic (run at server start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def sync_url(url: str) -> str:
    """Return the synchronous driver URL for an async one."""
    return url.replace("sqlite+aiosqlite", "sqlite")


def _upgrade(connection: Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")


def migrate(url: str) -> None:
    """Apply every pending migration to the database at ``url``."""
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            _upgrade(connection)
    finally:
        engine.dispose()
