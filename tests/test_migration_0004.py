"""Migration 0004 turns free-text loss reasons and sources into the team's keys, losing nothing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade
from storage.services import service_in
from tests.conftest import BACKENDS, PG_URL_ENV

T = "TOLD"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0001: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"{PG_URL_ENV} is not set")
    schema = f"pipebot_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_existing_teams_get_the_lists_and_deals_keep_their_words(old_url: str) -> None:
    url = old_url
    upgrade(url, "0001")
    engine = create_engine(url)
    columns = (
        "team_id, number, name, currency, owner_id, stage, status, created_at, created_by, "
        "closed_at, lost_reason, source, last_activity_at, updated_at, updated_by, version"
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO teams (id, timezone, currency, next_number, admins, reminders, "
                "reminder_mode, digest, created_at) VALUES (:t, 'UTC', 'EUR', 4, '[]', "
                "'09:00 mon-fri', 'channel', 'mon 09:00', :now)"
            ),
            {"t": T, "now": NOW},
        )
        rows = [
            (1, "lost", "No budget", "Webinar"),
            (2, "lost", "went with a competitor", "referral"),
            (3, "open", None, "Trade Show"),
        ]
        for number, status, reason, source in rows:
            conn.execute(
                text(
                    f"INSERT INTO deals ({columns}) VALUES (:t, :n, :name, 'EUR', 'U1', 'lead', "
                    ":status, :now, 'U1', :closed, :reason, :source, :now, :now, 'U1', 1)"
                ),
                {
                    "t": T,
                    "n": number,
                    "name": f"Deal {number}",
                    "status": status,
                    "now": NOW,
                    "closed": NOW if status == "lost" else None,
                    "reason": reason,
                    "source": source,
                },
            )
    engine.dispose()
    upgrade(url)
    db = Database(url)
    with db.read_scope() as s:
        p = service_in(s, T)
        team = p.team_out()
        deals = {d.number: d for d in p.list_deals()}
    db.dispose()
    assert team.sources == ["inbound", "outbound", "referral", "partner", "event", "webinar",
                            "trade_show"]  # fmt: skip
    assert [r.key for r in team.lost_reasons][:3] == ["price", "competitor", "no_budget"]
    assert (deals[1].lost_reason, deals[1].lost_detail, deals[1].source) == (
        "no_budget",
        None,
        "webinar",
    )
    assert (deals[2].lost_reason, deals[2].lost_detail) == ("other", "went with a competitor")
    assert (deals[3].lost_reason, deals[3].source) == (None, "trade_show")
