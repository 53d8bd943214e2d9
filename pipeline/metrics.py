"""Pipeline metrics, aggregated in SQL where the data lives.

Sums come back per (group, currency) as exact integer cents; only those few aggregates are
converted to the reporting currency here, so no amount is ever summed as a float.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, Subquery

from pipeline.dates import today_in
from pipeline.errors import InvalidInput, NotFound
from pipeline.types import LOST, OUTCOMES, WON, DealStatus
from storage import repositories as repo
from storage.conditions import stale_condition
from storage.models import Activity, CloseDateChange, Deal, Stage, StageChange
from storage.sql import seconds_between

DEFAULT_WINDOW = timedelta(days=90)
CENT = Decimal("0.01")
DAY = 86400.0


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Totals(_Model):
    """Count, amount and probability-weighted amount of a set of open deals."""

    count: int
    amount: Decimal
    weighted: Decimal


class StageTotals(_Model):
    """Open deals in one stage."""

    stage: str
    name: str
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal


class FunnelStep(_Model):
    """How the closed cohort passed through one stage."""

    stage: str
    name: str
    reached: int
    lost_at: int
    loss_rate: float | None
    conversion_rate: float | None
    win_rate_from: float | None


class StageDuration(_Model):
    """Days deals spent in a stage, over exits in the window."""

    stage: str
    name: str
    exits: int
    median: float | None
    mean: float | None


class Metrics(_Model):
    """Every metric of one team for one window and one point in time."""

    team: str
    as_of: datetime
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    currency: str
    open: Totals
    unpriced: int
    by_stage: list[StageTotals]
    won_count: int
    lost_count: int
    win_rate: float | None
    avg_won_amount: Decimal | None
    avg_days_to_win: float | None
    median_days_to_win: float | None
    funnel: list[FunnelStep]
    days_in_stage: list[StageDuration]
    stale: list[int]
    overdue_next_steps: list[int]
    past_close_date: list[int]
    slipped: list[int]

    def to_json(self) -> dict[str, Any]:
        """The public `stats --json` document."""
        return self.model_dump(mode="json", by_alias=True)


class _Converter:
    """Cents in a deal currency -> Decimal in the reporting currency, or None (unpriced)."""

    def __init__(self, currency: str, rates: Mapping[str, Decimal]) -> None:
        self.currency = currency
        self.rates = rates

    def rate(self, currency: str) -> Decimal | None:
        return Decimal(1) if currency == self.currency else self.rates.get(currency)

    def __call__(self, cents: int, currency: str) -> Decimal | None:
        rate = self.rate(currency)
        return None if rate is None else Decimal(cents).scaleb(-2) * rate


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / DAY, 2)


def compute(
    session: Session,
    team_id: str,
    *,
    as_of: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Metrics:
    """All metrics for `team_id` at `as_of`, over the closed cohort of [start, end)."""
    team = repo.get_team(session, team_id)
    if team is None:
        raise NotFound(f"There is no team {team_id}.", example="pipebot stats --team T0123")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if end is None:
        end = as_of if start is None else max(as_of, start + DEFAULT_WINDOW)
    if start is None:
        start = end - DEFAULT_WINDOW
    if start >= end:
        raise InvalidInput(
            "The window's start must come before its end.",
            example="stats --from 2026-07-01 --to 2026-10-01",
        )
    stages = list(team.stages)
    convert = _Converter(team.currency, {r.currency: Decimal(r.rate) for r in team.rates})
    today = today_in(team.timezone, as_of)

    open_deals = _open_at(session, team_id, as_of)
    open_total, unpriced, by_stage = _open_totals(session, open_deals, stages, convert)
    won, lost, avg_won, avg_days, median_days = _cohort(session, team_id, start, end, convert)
    return Metrics(
        team=team_id,
        as_of=as_of,
        start=start,
        end=end,
        currency=team.currency,
        open=open_total,
        unpriced=unpriced,
        by_stage=by_stage,
        won_count=won,
        lost_count=lost,
        win_rate=_ratio(won, won + lost),
        avg_won_amount=avg_won,
        avg_days_to_win=avg_days,
        median_days_to_win=median_days,
        funnel=_funnel(session, team_id, start, end, stages),
        days_in_stage=_days_in_stage(session, team_id, start, end, stages),
        stale=_stale(session, team_id, open_deals, stages, as_of, today),
        overdue_next_steps=_numbers(
            session, open_deals, Deal.next_step_due.is_not(None) & (Deal.next_step_due < today)
        ),
        past_close_date=_numbers(
            session, open_deals, Deal.close_date.is_not(None) & (Deal.close_date < today)
        ),
        slipped=_slipped(session, team_id, open_deals),
    )


def _open_at(session: Session, team_id: str, as_of: datetime) -> Subquery:
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


def _open_totals(
    session: Session, open_deals: Subquery, stages: list[Stage], convert: _Converter
) -> tuple[Totals, int, list[StageTotals]]:
    rows = session.execute(
        select(
            open_deals.c.stage,
            Deal.currency,
            func.count(),
            func.sum(Deal.amount_cents),
        )
        .join(Deal, Deal.id == open_deals.c.deal_id)
        .group_by(open_deals.c.stage, Deal.currency)
    ).all()
    probability = {s.key: s.probability for s in stages}
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    unpriced = 0
    for stage, currency, n, cents in rows:
        counts[stage] += n
        converted = convert(int(cents or 0), currency)
        if converted is None:
            unpriced += n
        else:
            amounts[stage] += converted
    by_stage = [
        StageTotals(
            stage=s.key,
            name=s.name,
            probability=s.probability,
            count=counts.get(s.key, 0),
            amount=_money(amounts.get(s.key, Decimal(0))),
            weighted=_money(amounts.get(s.key, Decimal(0)) * s.probability / 100),
        )
        for s in stages
    ]
    # Deals in a stage since removed (only when looking back) count, weighted at 0 %.
    total_amount = sum(amounts.values(), Decimal(0))
    weighted = sum(
        (amount * probability.get(key, 0) / 100 for key, amount in amounts.items()), Decimal(0)
    )
    totals = Totals(
        count=sum(counts.values()), amount=_money(total_amount), weighted=_money(weighted)
    )
    return totals, unpriced, by_stage


def _cohort_filter(team_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        Deal.team_id == team_id,
        Deal.status.in_(OUTCOMES),
        Deal.closed_at >= start,
        Deal.closed_at < end,
    )


def _median_rows(session: Session, values: Select[Any, Any]) -> dict[Any, tuple[float, float, int]]:
    """(median, mean, count) of `value` per `key`, over a select of (key, value).

    PostgreSQL computes the median itself (percentile_cont). SQLite has no median and its
    window functions sort slowly, so there only the one number per row comes back and the
    median is taken here (measured in docs/PERFORMANCE.md).
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
        return {key: (float(median), float(mean), n) for key, median, mean, n in rows}
    groups: dict[Any, list[float]] = {}
    for key, value in session.execute(select(inner.c.key, inner.c.value)):
        if value is not None:
            groups.setdefault(key, []).append(float(value))
    return {key: (statistics.median(v), math.fsum(v) / len(v), len(v)) for key, v in groups.items()}


def _cohort(
    session: Session, team_id: str, start: datetime, end: datetime, convert: _Converter
) -> tuple[int, int, Decimal | None, float | None, float | None]:
    cohort = _cohort_filter(team_id, start, end)
    rows = session.execute(
        select(Deal.status, Deal.currency, func.count(), func.sum(Deal.amount_cents))
        .where(cohort)
        .group_by(Deal.status, Deal.currency)
    ).all()
    priced_won = session.execute(
        select(Deal.currency, func.count())
        .where(cohort, Deal.status == WON, Deal.amount_cents.is_not(None))
        .group_by(Deal.currency)
    ).all()
    won = sum(n for status, _, n, _ in rows if status == WON)
    lost = sum(n for status, _, n, _ in rows if status == LOST)
    won_total = Decimal(0)
    won_priced = 0
    priced_counts = dict(priced_won)
    for status, currency, _, cents in rows:
        if status != WON:
            continue
        converted = convert(int(cents or 0), currency)
        if converted is not None:
            won_total += converted
            won_priced += priced_counts.get(currency, 0)
    avg_won = _money(won_total / won_priced) if won_priced else None

    durations = select(
        literal("won").label("key"),
        seconds_between(Deal.closed_at, Deal.created_at).label("value"),
    ).where(cohort, Deal.status == WON)
    row = _median_rows(session, durations).get("won")
    median = _days(row[0]) if row else None
    mean = _days(row[1]) if row else None
    return won, lost, avg_won, mean, median


def _funnel(
    session: Session, team_id: str, start: datetime, end: datetime, stages: list[Stage]
) -> list[FunnelStep]:
    """Reached / lost-at counts per stage over the closed cohort.

    A won deal passed every stage; a lost deal reached its furthest stage and every stage
    before it, skipped ones included.
    """
    cohort = _cohort_filter(team_id, start, end)
    won = session.execute(
        select(func.count()).select_from(Deal).where(cohort, Deal.status == WON)
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
        .where(cohort, Deal.status == LOST)
        .group_by(Deal.id, Deal.stage)
        .subquery("furthest")
    )
    rows = session.execute(
        select(furthest.c.closed_from, furthest.c.furthest, func.count()).group_by(
            furthest.c.closed_from, furthest.c.furthest
        )
    ).all()
    steps = []
    for stage in stages:
        reached = won + sum(n for _, far, n in rows if far is not None and far >= stage.position)
        lost_at = sum(n for frm, _, n in rows if frm == stage.key)
        loss_rate = _ratio(lost_at, reached)
        steps.append(
            FunnelStep(
                stage=stage.key,
                name=stage.name,
                reached=reached,
                lost_at=lost_at,
                loss_rate=loss_rate,
                conversion_rate=None if loss_rate is None else round(1 - loss_rate, 4),
                win_rate_from=_ratio(won, reached),
            )
        )
    return steps


def _days_in_stage(
    session: Session, team_id: str, start: datetime, end: datetime, stages: list[Stage]
) -> list[StageDuration]:
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
    rows = _median_rows(session, exits)
    result = []
    for stage in stages:
        median, mean, n = rows.get(stage.key, (None, None, 0))
        result.append(
            StageDuration(
                stage=stage.key, name=stage.name, exits=n, median=_days(median), mean=_days(mean)
            )
        )
    return result


def _numbers(session: Session, open_deals: Subquery, condition: ColumnElement[bool]) -> list[int]:
    return list(
        session.scalars(
            select(Deal.number)
            .join(open_deals, open_deals.c.deal_id == Deal.id)
            .where(condition)
            .order_by(Deal.number)
        )
    )


def _stale(
    session: Session,
    team_id: str,
    open_deals: Subquery,
    stages: list[Stage],
    as_of: datetime,
    today: date,
) -> list[int]:
    condition = stale_condition(open_deals.c.stage, open_deals.c.last_at, stages, as_of, today)
    return _numbers(session, open_deals, condition)


def _slipped(session: Session, team_id: str, open_deals: Subquery) -> list[int]:
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
            .join(open_deals, open_deals.c.deal_id == Deal.id)
            .join(pushes, pushes.c.deal_id == Deal.id)
            .order_by(Deal.number)
        )
    )


def render_table(metrics: Metrics) -> str:
    """The metrics as a readable plain-text report."""
    cur = metrics.currency

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.0f}%"

    def days(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f} d"

    lines = [
        f"Pipeline of {metrics.team} as of {metrics.as_of:%Y-%m-%d %H:%M %Z}",
        f"Closed cohort: {metrics.start:%Y-%m-%d} to {metrics.end:%Y-%m-%d} (amounts in {cur})",
        "",
        f"Open: {metrics.open.count} deals, {metrics.open.amount:,} {cur}, "
        f"weighted {metrics.open.weighted:,} {cur}"
        + (f" ({metrics.unpriced} unpriced: no rate)" if metrics.unpriced else ""),
        "",
        f"{'Stage':<20}{'Prob':>6}{'Deals':>7}{'Amount':>16}{'Weighted':>16}",
    ]
    for row in metrics.by_stage:
        lines.append(
            f"{row.name[:19]:<20}{row.probability:>5}%{row.count:>7}"
            f"{row.amount:>16,}{row.weighted:>16,}"
        )
    avg_won = "—" if metrics.avg_won_amount is None else f"{metrics.avg_won_amount:,}"
    lines += [
        "",
        f"Won {metrics.won_count}, lost {metrics.lost_count}, win rate {pct(metrics.win_rate)}; "
        f"average won {avg_won} "
        f"{cur}; days to win: mean {days(metrics.avg_days_to_win)}, "
        f"median {days(metrics.median_days_to_win)}",
        "",
        f"{'Stage':<20}{'Reached':>8}{'Lost':>6}{'Loss':>7}{'Conv':>7}{'Win from':>10}"
        f"{'Median':>10}{'Mean':>10}",
    ]
    durations = {d.stage: d for d in metrics.days_in_stage}
    for step in metrics.funnel:
        d = durations.get(step.stage)
        lines.append(
            f"{step.name[:19]:<20}{step.reached:>8}{step.lost_at:>6}{pct(step.loss_rate):>7}"
            f"{pct(step.conversion_rate):>7}{pct(step.win_rate_from):>10}"
            f"{days(d.median if d else None):>10}{days(d.mean if d else None):>10}"
        )

    def refs(numbers: list[int]) -> str:
        return ", ".join(f"#{n}" for n in numbers) if numbers else "none"

    lines += [
        "",
        f"Stale: {refs(metrics.stale)}",
        f"Overdue next steps: {refs(metrics.overdue_next_steps)}",
        f"Past close date: {refs(metrics.past_close_date)}",
        f"Slipped (close date pushed twice or more): {refs(metrics.slipped)}",
    ]
    return "\n".join(lines)
