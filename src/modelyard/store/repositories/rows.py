"""Conversions shared by the SQL repositories (SQLite returns naive datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_req(value: datetime) -> datetime:
    """Like ``utc`` for non-null columns."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
