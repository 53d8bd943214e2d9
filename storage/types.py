"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps; SQLite stores them naive, so UTC is re-attached on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC, refusing naive values that would be ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as strings: keep one canonical, offset-free form.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes whatever the backend gives."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        """On SQLite, the stored text parsed straight into an aware UTC datetime."""
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general

        def process(value: Any) -> datetime | None:
            # Parsed with its offset written on: SQLAlchemy's parse then `replace(tzinfo=UTC)`
            # took 2.9 µs a timestamp, this 0.5 µs (an export reads ~900,000 of them).
            if isinstance(value, str):
                try:
                    parsed = datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    parsed = None
                # Python reads a date alone with an offset as naive: then, and for any form
                # SQLAlchemy does not store, its own parse decides.
                if parsed is not None and parsed.tzinfo is not None:
                    return parsed
            return general(value)

        return process


def sqlite_utc_text(value: datetime | None) -> str | None:
    """A `UTCDateTime` value as SQLAlchemy stores it in SQLite, for writes that bypass it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # SQLite's DATETIME storage format: microseconds always written, even when zero.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_date_text(value: date | None) -> str | None:
    """A `Date` value as SQLAlchemy stores it in SQLite, for writes that bypass it."""
    return None if value is None else date.isoformat(value)
