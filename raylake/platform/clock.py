"""Time in one convention: aware UTC everywhere (SQLModel's UTCDateTime keeps it so on SQLite too)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the one clock rows are stamped with."""
    return datetime.now(UTC)
