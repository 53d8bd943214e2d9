"""The import's bulk inserts bypass SQLAlchemy: they must store the very values it would; and
SQLite's stored times read back exactly as SQLAlchemy's own parse reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Date, Table
from sqlalchemy.dialects import sqlite

from storage.models import Activity, CloseDateChange, Deal, StageChange
from storage.transfer import _PG_TYPES, _SQLITE_BINDS
from storage.types import UTCDateTime, sqlite_date_text, sqlite_utc_text

DIALECT = sqlite.dialect()
PARIS_WINTER = timezone(timedelta(hours=1))

TIMES = [
    None,
    datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    datetime(2026, 11, 27, 10, 0, 0, 250, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 30, 59, 999999, tzinfo=PARIS_WINTER),
    datetime(999, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]
DAYS = [None, date(2026, 12, 15), date(5, 1, 2)]


def bound(type_: Any, value: object) -> object:
    processor = type_.dialect_impl(DIALECT).bind_processor(DIALECT)
    return value if processor is None else processor(value)


@pytest.mark.parametrize("value", TIMES)
def test_utc_times_are_the_text_sqlalchemy_stores(value: datetime | None) -> None:
    assert sqlite_utc_text(value) == bound(UTCDateTime(), value)


@pytest.mark.parametrize("value", DAYS)
def test_days_are_the_text_sqlalchemy_stores(value: date | None) -> None:
    assert sqlite_date_text(value) == bound(Date(), value)


def test_a_naive_time_is_refused_as_by_the_column_type() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc_text(datetime(2026, 11, 27, 10, 0))


@pytest.mark.parametrize("model", [Deal, StageChange, Activity, CloseDateChange])
def test_every_imported_column_has_a_known_binding(model: Any) -> None:
    # An unknown type sends the whole insert back through SQLAlchemy: correct, but slow.
    table: Table = model.__table__
    assert [c.name for c in table.columns if type(c.type) not in _SQLITE_BINDS] == []


@pytest.mark.parametrize("model", [Deal, StageChange, Activity, CloseDateChange])
def test_every_imported_column_has_its_binary_copy_type(model: Any) -> None:
    table: Table = model.__table__
    assert [c.name for c in table.columns if type(c.type) not in _PG_TYPES] == []


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from([UTC, PARIS_WINTER, timezone(timedelta(hours=-9, minutes=-30))]),
    )
)
def test_a_stored_time_reads_back_as_sqlalchemy_parses_it(value: datetime) -> None:
    stored = bound(UTCDateTime(), value)
    read = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
    assert read is not None
    got = read(stored)
    parsed = sqlite.DATETIME().result_processor(DIALECT, None)
    assert parsed is not None
    assert got == value
    assert got == parsed(stored).replace(tzinfo=UTC)
    assert got is not None
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-11-27 10:00:00", "2026-11-27 10:00:00.250000", "2026-11-27"]
)
def test_other_stored_forms_read_as_sqlalchemy_reads_them(text: str) -> None:
    read = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
    parsed = sqlite.DATETIME().result_processor(DIALECT, None)
    assert read is not None
    assert parsed is not None
    assert read(text) == parsed(text).replace(tzinfo=UTC)
    assert read(None) is None
