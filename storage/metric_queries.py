"""The metric queries: aggregated in SQL where the data lives, returned as pipeline's rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, Subquery

from pipeline.errors import NotFound
from pipeline.metrics import AmountRow, Cohort, FunnelRows, LostRow, OpenDeals, Spread, spreads
from pipeline.schemas import StageOut, TeamOut
from pipeline.types import LOST, OUTCOMES, WON, DealStatus
from storage.conditions import stale_condition
from storage.models import TEAM_LOADS, Activity, CloseDateChange, Deal, Stage, StageChange, Team
from storage.planning_queries import planning_lists
from storage.sql import seconds_between


def team_settings(session: Session, team_id: str) -> TeamOut | None:
    """The team's settings, stages (in order) and rates, or None when there is no such team."""
    team = session.get(Team, team_id, options=TEAM_LOADS)
    return None if team is None else team_out(team)


def team_out(team: Team) -> TeamOut:
    """The domain value of a team row loaded with its stages and rates."""
    return TeamOut(
        id=team.id,
        timezone=team.timezone,
        currency=team.currency,
        channel_id=team.channel_id,
        admins=list(team.admins or []),
        stages=[StageOut.model_validate(s) for s in team.stages],
        rates={r.currency: r.rate for r in team.rates},
        reminders=team.reminders,
        reminder_mode=team.reminder_mode,
        digest=team.digest,
        **planning_lists(team),
    )


def require_team(session: Session, team_id: str) -> TeamOut:
    """The team's settings; NotFound when the database has no such team."""
    team = team_settings(session, team_id)
    if team is None:
        raise NotFound(
            f"There is no team {team_id} in this database.", example="pipebot stats --team T0123"
        )
    return team


def open_at(session: Session, team_id: str, as_of: datetime) -> Subquery:
    """(deal_id, stage, last_at) of the deals open at `as_of`.

    When nothing happened after `as_of` the deals table already is that state; otherwise the
    state is rebuilt from the stage history (slower, only for looking back).
    """
    later = session.execute(
        select(
            exists().where(StageChange.team_id == team_id, StageChange.at > as_of)
            | exists().where(Activity.team_id == team_id, Activity.at > as_of)
        )
    ).scalar_one()
    if not later:
        return (
            select(
                Deal.id.label("deal_id"),
                Deal.stage.label("stage"),
                Deal.last_activity_at.label("last_at"),
            )
            .where(Deal.team_id == team_id, Deal.status == DealStatus.OPEN.value)
            .subquery("open_deals")
        )
    ranked = (
        select(
            StageChange.deal_id,
            StageChange.to_stage,
            StageChange.at,
            func.row_number()
            .over(
                partition_by=StageChange.deal_id,
                order_by=(StageChange.at.desc(), StageChange.id.desc()),
            )
            .label("rn"),
        )
        .where(StageChange.team_id == team_id, StageChange.at <= as_of)
        .subquery("ranked")
    )
    last_activity = (
        select(func.max(Activity.at))
        .where(Activity.deal_id == ranked.c.deal_id, Activity.at <= as_of)
        .scalar_subquery()
    )
    last_at = case(
        (last_activity.is_not(None) & (last_activity > ranked.c.at), last_activity),
        else_=ranked.c.at,
    )
    return (
        select(
            ranked.c.deal_id.label("deal_id"),
            ranked.c.to_stage.label("stage"),
            last_at.label("last_at"),
        )
        .where(ranked.c.rn == 1, ranked.c.to_stage.not_in(OUTCOMES))
        .subquery("open_deals")
    )


def open_deals(session: Session, team: TeamOut, as_of: datetime, today: date) -> OpenDeals:
    """The deals open at `as_of`: sums per (stage, currency), and the numbers to act on."""
    deals = open_at(session, team.id, as_of)
    return OpenDeals(
        totals=open_totals(session, deals),
        stale=stale(session, deals, team, as_of, today),
        overdue_next_steps=numbers(
            session, deals, Deal.next_step_due.is_not(None) & (Deal.next_step_due < today)
        ),
        past_close_date=numbers(
            session, deals, Deal.close_date.is_not(None) & (Deal.close_date < today)
        ),
        slipped=slipped(session, team.id, deals),
    )


def open_totals(session: Session, deals: Subquery) -> list[AmountRow]:
    """Count and summed cents of the open deals per (stage, currency)."""
    rows = session.execute(
        select(deals.c.stage, Deal.currency, func.count(), func.sum(Deal.amount_cents))
        .join(Deal, Deal.id == deals.c.deal_id)
        .group_by(deals.c.stage, Deal.currency)
    )
    return [AmountRow(stage, currency, n, cents) for stage, currency, n, cents in rows]


def numbers(session: Session, deals: Subquery, condition: ColumnElement[bool]) -> list[int]:
    """The numbers of the open deals meeting `condition`, in order."""
    return list(
        session.scalars(
            select(Deal.number)
            .join(deals, deals.c.deal_id == Deal.id)
            .where(condition)
            .order_by(Deal.number)
        )
    )


def stale(
    session: Session, deals: Subquery, team: TeamOut, as_of: datetime, today: date
) -> list[int]:
    """The numbers of the open deals stale at `as_of` (each stage's own threshold)."""
    condition = stale_condition(deals.c.stage, deals.c.last_at, team.stages, as_of, today)
    return numbers(session, deals, condition)


def slipped(session: Session, team_id: str, deals: Subquery) -> list[int]:
    """The numbers of the open deals whose close date was pushed later twice or more."""
    pushes = (
        select(CloseDateChange.deal_id)
        .where(
            CloseDateChange.team_id == team_id,
            CloseDateChange.old_date.is_not(None),
            CloseDateChange.new_date > CloseDateChange.old_date,
        )
        .group_by(CloseDateChange.deal_id)
        .having(func.count() >= 2)
        .subquery("pushed")
    )
    return list(
        session.scalars(
            select(Deal.number)
            .join(deals, deals.c.deal_id == Deal.id)
            .join(pushes, pushes.c.deal_id == Deal.id)
            .order_by(Deal.number)
        )
    )


def _cohort_filter(team_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        Deal.team_id == team_id,
        Deal.status.in_(OUTCOMES),
        Deal.closed_at >= start,
        Deal.closed_at < end,
    )


def median_rows(session: Session, values: Select[Any, Any]) -> dict[str, Spread]:
    """Median, mean and count of `value` per `key`, over a select of (key, value).

    PostgreSQL computes the median itself (percentile_cont). SQLite has no median and its
    window functions sort slowly, so there only the one number per row comes back and the
    median is taken in Python (measured in docs/PERFORMANCE.md).
    """
    inner = values.subquery("v")
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            select(
                inner.c.key,
                func.percentile_cont(0.5).within_group(inner.c.value),
                func.avg(inner.c.value),
                func.count(),
            ).group_by(inner.c.key)
        )
        return {key: Spread(float(median), float(mean), n) for key, median, mean, n in rows}
    return spreads(
        (key, value) for key, value in session.execute(select(inner.c.key, inner.c.value))
    )


def cohort(session: Session, team_id: str, start: datetime, end: datetime) -> Cohort:
    """The deals closed in [start, end): sums per (status, currency), priced wins, days to win."""
    closed = _cohort_filter(team_id, start, end)
    rows = session.execute(
        select(Deal.status, Deal.currency, func.count(), func.sum(Deal.amount_cents))
        .where(closed)
        .group_by(Deal.status, Deal.currency)
    ).all()
    priced_won = session.execute(
        select(Deal.currency, func.count())
        .where(closed, Deal.status == WON, Deal.amount_cents.is_not(None))
        .group_by(Deal.currency)
    ).all()
    durations = select(
        literal("won").label("key"),
        seconds_between(Deal.closed_at, Deal.created_at).label("value"),
    ).where(closed, Deal.status == WON)
    return Cohort(
        totals=[AmountRow(status, currency, n, cents) for status, currency, n, cents in rows],
        priced_won={currency: n for currency, n in priced_won},
        seconds_to_win=median_rows(session, durations).get("won"),
    )


def funnel(session: Session, team_id: str, start: datetime, end: datetime) -> FunnelRows:
    """The cohort's wins, and its losses by closing stage and furthest stage reached."""
    closed = _cohort_filter(team_id, start, end)
    won = session.execute(
        select(func.count()).select_from(Deal).where(closed, Deal.status == WON)
    ).scalar_one()
    # Only lost deals need their history read: a won deal passed every stage.
    furthest = (
        select(
            Deal.stage.label("closed_from"),
            func.max(Stage.position).label("furthest"),
        )
        .select_from(Deal)
        .join(StageChange, StageChange.deal_id == Deal.id)
        .outerjoin(Stage, and_(Stage.team_id == Deal.team_id, Stage.key == StageChange.to_stage))
        .where(closed, Deal.status == LOST)
        .group_by(Deal.id, Deal.stage)
        .subquery("furthest")
    )
    rows = session.execute(
        select(furthest.c.closed_from, furthest.c.furthest, func.count()).group_by(
            furthest.c.closed_from, furthest.c.furthest
        )
    ).all()
    return FunnelRows(won=won, lost=[LostRow(frm, far, n) for frm, far, n in rows])


def stage_exits(
    session: Session, team_id: str, start: datetime, end: datetime
) -> dict[str, Spread]:
    """Seconds spent in each open stage before leaving it, over the exits in [start, end)."""
    exits = select(
        StageChange.from_stage.label("key"),
        seconds_between(StageChange.at, StageChange.from_entered_at).label("value"),
    ).where(
        StageChange.team_id == team_id,
        StageChange.at >= start,
        StageChange.at < end,
        StageChange.from_entered_at.is_not(None),
        StageChange.from_stage.not_in(OUTCOMES),
    )
    return median_rows(session, exits)
