"""SQL conditions that several queries share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
) -> ColumnElement[bool]:
    """Nothing happened for longer than the stage's threshold and no next step is ahead."""
    # One range test per stage keeps the (team, status, last_activity_at) index usable.
    per_stage = [
        and_(stage_col == s.key, last_at < as_of - timedelta(days=s.stale_days)) for s in stages
    ]
    quiet = or_(*per_stage) if per_stage else false()
    no_step_ahead = or_(Deal.next_step_due.is_(None), Deal.next_step_due < today)
    return and_(quiet, no_step_ahead)


def stale_test(
    stages: Iterable[StaleRule], as_of: datetime, today: date
) -> Callable[[str, datetime, date | None], bool]:
    """`stale_condition` in Python, for rows already fetched: (stage, last_at, next_step_due)."""
    # A stage removed since has no threshold: its deals are never stale, as in SQL.
    quiet_before = {s.key: as_of - timedelta(days=s.stale_days) for s in stages}

    def stale(stage: str, last_at: datetime, next_step_due: date | None) -> bool:
        limit = quiet_before.get(stage)
        no_step_ahead = next_step_due is None or next_step_due < today
        return limit is not None and last_at < limit and no_step_ahead

    return stale
