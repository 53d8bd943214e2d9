"""Queries. Repositories never commit: the session scope does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pipeline.planning import DEFAULT_SOURCES, default_reasons
from pipeline.ports import DealQuery
from storage.models import TEAM_LOADS, AppliedOperation, Deal, Team
from storage.sql import insert_ignore


def get_team(session: Session, team_id: str) -> Team | None:
    """The team with its stages and rates, or None."""
    return session.get(Team, team_id, options=TEAM_LOADS)


def create_team_if_missing(
    session: Session, team_id: str, *, timezone: str, currency: str, now: datetime
) -> bool:
    """Create the team row once, even when two replicas see a new team at the same time."""
    return insert_ignore(
        session,
        Team,
        {
            "id": team_id,
            "timezone": timezone,
            "currency": currency,
            "next_number": 1,
            "admins": [],
            "reminders": "09:00 mon-fri",
            "reminder_mode": "channel",
            "digest": "mon 09:00",
            "sources": list(DEFAULT_SOURCES),
            "lost_reasons": [r.model_dump() for r in default_reasons()],
            "created_at": now,
        },
    )


def allocate_number(session: Session, team_id: str) -> int:
    """The team's next deal number; the row update serializes concurrent creators."""
    stmt = (
        update(Team)
        .where(Team.id == team_id)
        .values(next_number=Team.next_number + 1)
        .returning(Team.next_number)
    )
    return int(session.execute(stmt).scalar_one()) - 1


def deal_by_number(
    session: Session, team_id: str, number: int, *, lock: bool = False
) -> Deal | None:
    """A team's deal by its number; `lock` holds its row until the transaction ends."""
    stmt = select(Deal).where(Deal.team_id == team_id, Deal.number == number)
    if lock:
        # The locked read is the one a write trusts: refresh a row read earlier in the session.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).one_or_none()


def deals_by_name(
    session: Session, team_id: str, text: str, *, limit: int = 11, lock: bool = False
) -> list[Deal]:
    """Deals whose name starts with `text`, case-insensitively; exact matches first."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lowered = func.lower(Deal.name)
    stmt = (
        select(Deal)
        .where(Deal.team_id == team_id, lowered.like(escaped + "%", escape="\\"))
        .order_by((lowered == text.lower()).desc(), Deal.status, Deal.number.desc())
        .limit(limit)
    )
    if lock:
        # The locked read is the one a write trusts: refresh a row read earlier in the session.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(stmt))


def list_deals(session: Session, team_id: str, flt: DealQuery) -> list[Deal]:
    """A team's deals matching the filter, most recent activity first."""
    stmt = select(Deal).where(Deal.team_id == team_id)
    if flt.owner_id is not None:
        stmt = stmt.where(Deal.owner_id == flt.owner_id)
    if flt.stage is not None:
        stmt = stmt.where(Deal.stage == flt.stage)
    if flt.status is not None:
        stmt = stmt.where(Deal.status == flt.status)
    if flt.text:
        escaped = flt.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Deal.name).like("%" + escaped + "%", escape="\\"))
    stmt = stmt.order_by(Deal.last_activity_at.desc(), Deal.number.desc())
    return list(session.scalars(stmt.limit(flt.limit).offset(flt.offset)))


def count_open_in_stage(session: Session, team_id: str, stage_key: str) -> int:
    """How many open deals sit in a stage."""
    stmt = select(func.count()).where(
        Deal.team_id == team_id, Deal.stage == stage_key, Deal.status == "open"
    )
    return int(session.execute(stmt).scalar_one())


def claim_operation(
    session: Session, team_id: str, key: str, *, now: datetime, deal_number: int | None = None
) -> bool:
    """Record an idempotency key; False when it was recorded before."""
    return insert_ignore(
        session,
        AppliedOperation,
        {"team_id": team_id, "key": key, "deal_number": deal_number, "at": now},
    )


def set_operation_deal(session: Session, team_id: str, key: str, deal_number: int) -> None:
    """Remember which deal an operation produced, for the answer to a retry."""
    session.execute(
        update(AppliedOperation)
        .where(AppliedOperation.team_id == team_id, AppliedOperation.key == key)
        .values(deal_number=deal_number)
    )


def operation_deal(session: Session, team_id: str, key: str) -> int | None:
    """The deal number a recorded operation produced."""
    return session.execute(
        select(AppliedOperation.deal_number).where(
            AppliedOperation.team_id == team_id, AppliedOperation.key == key
        )
    ).scalar_one_or_none()
