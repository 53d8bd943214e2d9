"""What needs a follow-up today: stale deals, overdue next steps, past close dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import and_, or_, select

from pipeline.schemas import DealOut
from pipeline.service import PipelineService
from pipeline.types import DealStatus
from storage.conditions import stale_condition
from storage.models import Deal


class Reason(StrEnum):
    """Why a deal is in today's reminders."""

    STALE = "stale"
    OVERDUE_STEP = "overdue_next_step"
    PAST_CLOSE = "past_close_date"


@dataclass
class Item:
    """One deal that needs attention, and why."""

    deal: DealOut
    reasons: list[Reason] = field(default_factory=list)
    days_quiet: int = 0


def due_items(p: PipelineService, *, now: datetime, today: date) -> list[Item]:
    """Open, un-snoozed deals needing attention, oldest activity first, in one query."""
    stages = p.team.stages
    stale = stale_condition(Deal.stage, Deal.last_activity_at, stages, now, today)
    overdue = and_(Deal.next_step_due.is_not(None), Deal.next_step_due < today)
    past = and_(Deal.close_date.is_not(None), Deal.close_date < today)
    rows = p.session.execute(
        select(Deal, stale.label("stale"), overdue.label("overdue"), past.label("past"))
        .where(
            Deal.team_id == p.team_id,
            Deal.status == DealStatus.OPEN.value,
            or_(Deal.snoozed_until.is_(None), Deal.snoozed_until <= today),
            or_(stale, overdue, past),
        )
        .order_by(Deal.last_activity_at, Deal.number)
    ).all()
    items = []
    for deal, is_stale, is_overdue, is_past in rows:
        reasons = [
            reason
            for reason, flag in (
                (Reason.STALE, is_stale),
                (Reason.OVERDUE_STEP, is_overdue),
                (Reason.PAST_CLOSE, is_past),
            )
            if flag
        ]
        quiet = (now - deal.last_activity_at).days
        items.append(Item(DealOut.model_validate(deal), reasons, quiet))
    return items


def by_owner(items: list[Item]) -> dict[str, list[Item]]:
    """Items grouped by deal owner, owners with the most items first."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.deal.owner_id, []).append(item)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
