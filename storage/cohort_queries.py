"""The closed cohort's groups: each window's closed deals read in two grouped statements, from
which the metrics (cohort, funnel) and planning (sources, loss reasons) take their rows.

Four of them once ran a statement each over the same window; on 12,742 closed deals each
statement's cost was mostly its GROUP BY, and a few dozen groups add up in Python in no time
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import and_, case, func, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from pipeline.metrics import AmountRow, LostRow
from pipeline.planning_metrics import LossRow, SourceRow
from pipeline.schemas import TeamOut
from pipeline.types import LOST, OUTCOMES, WON
from storage.models import Deal, StageChange
from storage.sql import seconds_between

K = TypeVar("K")


class ClosedGroup(NamedTuple):
    """The window's closed deals of one source, status and currency."""

    source: str | None
    status: str
    currency: str
    deals: int
    priced: int
    cents: int | None
    win_seconds: float | None  # summed, over won deals only


class LostGroup(NamedTuple):
    """The window's lost deals of one reason, closing stage, currency and furthest stage."""

    reason: str | None
    stage: str
    currency: str
    furthest: int | None
    deals: int
    cents: int | None


def closed_in(team_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """Deals of the team closed (won or lost) in [start, end): the window's filter."""
    return and_(
        Deal.team_id == team_id,
        Deal.status.in_(OUTCOMES),
        Deal.closed_at >= start,
        Deal.closed_at < end,
    )


def closed_groups(
    session: Session, team_id: str, start: datetime, end: datetime
) -> list[ClosedGroup]:
    """The deals closed in [start, end) per source, status and currency."""
    rows = session.execute(
        select(
            Deal.source,
            Deal.status,
            Deal.currency,
            func.count(),
            func.count(Deal.amount_cents),
            func.sum(Deal.amount_cents),
            func.sum(case((Deal.status == WON, seconds_between(Deal.closed_at, Deal.created_at)))),
        )
        .where(closed_in(team_id, start, end))
        .group_by(Deal.source, Deal.status, Deal.currency)
    )
    return [
        ClosedGroup(source, status, cur, n, priced, cents, None if secs is None else float(secs))
        for source, status, cur, n, priced, cents, secs in rows
    ]


def lost_groups(session: Session, team: TeamOut, start: datetime, end: datetime) -> list[LostGroup]:
    """The deals lost in [start, end) per reason, closing stage, currency and furthest stage."""
    # Only lost deals need their history read: a won deal passed every stage. Looked up per
    # deal in its (deal, at) index: a join let PostgreSQL scan every stage change instead.
    # (A lost deal always has history: its move to lost.) Each stage's position comes from
    # the team's settings, not a join per stage change: a quarter less time on SQLite, a
    # seventh on PostgreSQL (docs/PERFORMANCE.md); a stage since removed, won and lost have
    # none.
    positions = {s.key: s.position for s in team.stages}
    position = case(positions, value=StageChange.to_stage, else_=null()) if positions else null()
    reached = (
        select(func.max(position))
        .where(StageChange.deal_id == Deal.id)
        .correlate(Deal)
        .scalar_subquery()
    )
    lost = (
        select(
            Deal.lost_reason.label("reason"),
            Deal.stage.label("stage"),
            Deal.currency.label("currency"),
            Deal.amount_cents.label("cents"),
            reached.label("furthest"),
        )
        .where(closed_in(team.id, start, end), Deal.status == LOST)
        .subquery("lost")
    )
    keys = (lost.c.reason, lost.c.stage, lost.c.currency, lost.c.furthest)
    rows = session.execute(select(*keys, func.count(), func.sum(lost.c.cents)).group_by(*keys))
    return [LostGroup(*row) for row in rows]


def add_up(parts: Iterable[tuple[K, int, Any]]) -> dict[K, list[Any]]:
    """[deals, cents] per key over (key, deals, cents) parts; the cents stay None while every
    part's are, as SQL's SUM does."""
    sums: dict[K, list[Any]] = {}
    for key, deals, cents in parts:
        total = sums.setdefault(key, [0, None])
        total[0] += deals
        if cents is not None:
            total[1] = cents + (total[1] or 0)
    return sums


def cohort_totals(groups: Sequence[ClosedGroup]) -> tuple[list[AmountRow], dict[str, int]]:
    """Sums per (status, currency), and the priced wins per currency."""
    totals = add_up(((g.status, g.currency), g.deals, g.cents) for g in groups)
    priced_won: dict[str, int] = defaultdict(int)
    for g in groups:
        if g.status == WON and g.priced:
            priced_won[g.currency] += g.priced
    rows = [AmountRow(status, cur, n, cents) for (status, cur), (n, cents) in totals.items()]
    return rows, dict(priced_won)


def won_count(groups: Iterable[ClosedGroup]) -> int:
    """How many of the window's deals were won."""
    return sum(g.deals for g in groups if g.status == WON)


def source_rows(groups: Iterable[ClosedGroup]) -> list[SourceRow]:
    """The groups as planning's rows (time to win for won deals only)."""
    return [
        SourceRow(g.source, g.status, g.currency, g.deals, g.cents, g.win_seconds or None)
        for g in groups
    ]


def funnel_losses(groups: Iterable[LostGroup]) -> list[LostRow]:
    """Lost deals per closing stage and furthest stage reached."""
    counts: dict[tuple[str, int | None], int] = defaultdict(int)
    for g in groups:
        counts[g.stage, g.furthest] += g.deals
    return [LostRow(stage, furthest, n) for (stage, furthest), n in counts.items()]


def loss_rows(groups: Iterable[LostGroup]) -> list[LossRow]:
    """Lost deals per reason, closing stage and currency."""
    sums = add_up(((g.reason, g.stage, g.currency), g.deals, g.cents) for g in groups)
    return [LossRow(*key, n, cents) for key, (n, cents) in sums.items()]
