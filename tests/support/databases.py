"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "MODELYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin_connect() -> object:
    import psycopg

    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)


def postgres_reachable() -> str | None:
    """Return None when PostgreSQL answers, else the reason it does not."""
    try:
        conn = _admin_connect()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {type(exc).__name__}: {exc}"
    conn.close()  # type: ignore[attr-defined]
    return None


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """Create an empty database, yield its async SQLAlchemy URL, drop it afterwards."""
    reason = postgres_reachable()
    if reason:
        pytest.skip(reason)
    name = f"modelyard_{uuid.uuid4().hex[:12]}"
    conn = _admin_connect()
    conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield a URL of an empty database of ``kind`` (sqlite or postgres)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        with fresh_postgres() as url:
            yield url
