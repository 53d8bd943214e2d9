"""What needs a follow-up today: stale deals, overdue next steps, past close dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from pipeline.schemas import DealOut


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


class Flagged(NamedTuple):
    """An open deal with the tests it fails: stale, overdue next step, past close date."""

    deal: DealOut
    stale: bool
    overdue: bool
    past: bool


class ReminderSource(Protocol):
    """The reminder query over one team's deals (storage implements it)."""

    def needing_attention(self, now: datetime, today: date) -> list[Flagged]:
        """Open, un-snoozed deals failing a test, oldest activity first."""
        ...


def due_items(source: ReminderSource, *, now: datetime, today: date) -> list[Item]:
    """Open, un-snoozed deals needing attention, oldest activity first, in one query."""
    items = []
    for deal, is_stale, is_overdue, is_past in source.needing_attention(now, today):
        reasons = [
            reason
            for reason, flag in (
                (Reason.STALE, is_stale),
                (Reason.OVERDUE_STEP, is_overdue),
                (Reason.PAST_CLOSE, is_past),
            )
            if flag
        ]
        items.append(Item(deal, reasons, (now - deal.last_activity_at).days))
    return items


def by_owner(items: list[Item]) -> dict[str, list[Item]]:
    """Items grouped by deal owner, owners with the most items first."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.deal.owner_id, []).append(item)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
