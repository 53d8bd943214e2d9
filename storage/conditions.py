"""SQL conditions that several queries share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import SQLColumnExpression, and_, false, or_
from sqlalchemy.sql.expression import ColumnElement

from storage.models import Deal


class StaleRule(Protocol):
    """A stage's key and its stale threshold (a stage row or a `StageOut`)."""

    @property
    def key(self) -> str: ...

    @property
    def stale_days(self) -> int: ...


def stale_condition(
    stage_col: SQLColumnExpression[str],
    last_at: SQLColumnExpression[datetime],
    stages: Iterable[StaleRule],
    as_of: datetime,
    today: date,
    next_step_due: SQLColumnExpression[date | None] = Deal.next_step_due,
) -> ColumnElement[bool]:
    """Nothing happened for longer than the stage's threshold and no next step is ahead."""
    # One test per stage, each with its threshold; every column it reads is in the covering
    # open-deal index (`ix_deals_team_status_activity`): the test alone reads no deal row.
    per_stage = [
        and_(stage_col == s.key, last_at < as_of - timedelta(days=s.stale_days)) for s in stages
    ]
    quiet = or_(*per_stage) if per_stage else false()
    no_step_ahead = or_(next_step_due.is_(None), next_step_due < today)
    return and_(quiet, no_step_ahead)
