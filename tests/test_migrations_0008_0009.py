"""Migration 0008 gives every stored stage change its seconds in the stage it left, as the
metric computed them before, and 0009 every deal its count of close-date pushes; new rows carry
them from the moment they are written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import select

from sandbox.demo import DEMO_TEAM, seed_demo
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import CloseDateChange, Deal, StageChange, is_push, stage_seconds
from tests.test_migration_0004 import old_url

__all__ = ["old_url"]  # the fixture: a fresh SQLite file or PostgreSQL schema per backend

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def seconds_by_id(db: Database) -> dict[int, float | None]:
    with db.read_scope() as session:
        rows = session.execute(
            select(
                StageChange.id,
                StageChange.at,
                StageChange.from_entered_at,
                StageChange.from_seconds,
            )
        ).all()
    for _, at, entered, seconds in rows:
        assert seconds == stage_seconds(at, entered)
    return {row.id: row.from_seconds for row in rows}


def test_existing_stage_changes_get_the_seconds_the_metric_computed(old_url: str) -> None:
    upgrade(old_url)
    db = Database(old_url)
    try:
        assert seed_demo(db, now=NOW, team_id=DEMO_TEAM) > 0
        written = seconds_by_id(db)  # by the ORM, each as it was written
        assert sum(s is not None for s in written.values()) > 10
        # Back before 0008 and up again: the column is rebuilt from the stored times.
        command.downgrade(alembic_config(old_url), "0007")
        upgrade(old_url)
        with db.read_scope() as session:
            rebuilt = dict(session.execute(select(StageChange.id, StageChange.from_seconds)).all())
    finally:
        db.dispose()
    assert rebuilt.keys() == written.keys()
    for key, seconds in written.items():
        if seconds is None:
            assert rebuilt[key] is None
        else:
            # SQLite's julianday() keeps milliseconds: the figures before this migration.
            assert rebuilt[key] == pytest.approx(seconds, abs=1e-3)


def pushes_by_number(db: Database) -> dict[int, int]:
    with db.read_scope() as session:
        deals = dict(session.execute(select(Deal.id, Deal.number)).all())
        counted = dict.fromkeys(deals.values(), 0)
        for deal_id, old, new in session.execute(
            select(CloseDateChange.deal_id, CloseDateChange.old_date, CloseDateChange.new_date)
        ):
            counted[deals[deal_id]] += is_push(old, new)
        stored = dict(session.execute(select(Deal.number, Deal.pushes)).all())
    assert stored == counted
    return stored


def test_existing_deals_get_their_count_of_close_date_pushes(old_url: str) -> None:
    upgrade(old_url)
    db = Database(old_url)
    try:
        seed_demo(db, now=NOW, team_id=DEMO_TEAM)
        written = pushes_by_number(db)  # kept by the ORM, change by change
        assert max(written.values()) >= 2  # the demo's Wayne Enterprises slipped
        command.downgrade(alembic_config(old_url), "0008")
        upgrade(old_url)
        assert pushes_by_number(db) == written
    finally:
        db.dispose()
