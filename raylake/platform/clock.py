"""Time in one convention: aware UTC everywhere (SQLModel's UTCDateTime keeps it so on SQLite too)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
