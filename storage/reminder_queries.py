"""The reminder query: open, un-snoozed deals that are stale, overdue or past their close date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from pipeline.reminders import Flagged
from pipeline.schemas import DealOut, StageOut
from pipeline.types import DealStatus
from storage.conditions import stale_condition
from storage.models import Deal


def needing_attention(
    session: Session, team_id: str, stages: Sequence[StageOut], now: datetime, today: date
) -> list[Flagged]:
    """Open, un-snoozed deals failing a test, oldest activity first, in one query."""
    stale = stale_condition(Deal.stage, Deal.last_activity_at, stages, now, today)
    overdue = and_(Deal.next_step_due.is_not(None), Deal.next_step_due < today)
    past = and_(Deal.close_date.is_not(None), Deal.close_date < today)
    rows = session.execute(
        select(Deal, stale.label("stale"), overdue.label("overdue"), past.label("past"))
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.OPEN.value,
            or_(Deal.snoozed_until.is_(None), Deal.snoozed_until <= today),
            or_(stale, overdue, past),
        )
        .order_by(Deal.last_activity_at, Deal.number)
    )
    return [
        Flagged(DealOut.model_validate(deal), bool(s), bool(o), bool(p)) for deal, s, o, p in rows
    ]
