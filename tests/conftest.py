"""Shared fixtures: a real database on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

PG_URL_ENV = "PIPEBOT_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


class FrozenClock:
    """A clock tests move by hand; never sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock at 2026-11-27 10:00 UTC (a Friday)."""
    return FrozenClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """A private, migrated PostgreSQL schema for this test run, or None when not configured."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        yield None
        return
    schema = f"pipebot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_url: str | None
) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or the PostgreSQL test schema."""
    if request.param == "sqlite":
        path = tmp_path / "pipebot.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    if pg_url is None:
        pytest.skip(f"{PG_URL_ENV} is not set")
    database = Database(pg_url)
    _truncate_all(database)
    yield database
    database.dispose()
