"""The weekly digest's numbers: the pipeline now and a week ago, the week's movement, the
forecast, conversion and the deals that need attention.

Every query is scoped by team. Sums come back per currency in integer cents and are converted
with the team's rates afterwards; lists are ordered in SQL by their converted amount.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement

from pipeline.dates import today_in
from pipeline.errors import NotFound
from pipeline.forecast import Forecast, Rates, forecast, money
from pipeline.metrics import Metrics, Totals, compute
from pipeline.types import DealStatus
from storage import repositories as repo
from storage.conditions import stale_condition
from storage.models import CloseDateChange, Deal, Stage, StageChange

WEEK = timedelta(days=7)
TOP = 10


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageSummary(_Model):
    """One open stage: its deals now and a week ago, and how the closed cohort went through it."""

    stage: str
    name: str
    probability: int
    stale_days: int
    count: int
    amount: Decimal
    weighted: Decimal
    count_before: int
    amount_before: Decimal
    weighted_before: Decimal
    count_change: int
    amount_change: Decimal
    weighted_change: Decimal
    reached: int
    lost_at: int
    conversion_rate: float | None
    loss_rate: float | None
    win_rate_from: float | None
    median_days: float | None
    exits: int


class Amounts(_Model):
    """How many deals and their total in the reporting currency; unpriced ones only counted."""

    count: int
    amount: Decimal
    unpriced: int


class ClosedDeal(_Model):
    """A deal won or lost this week; `stage` is the stage it closed from."""

    number: int
    name: str
    owner_id: str
    stage: str
    stage_name: str
    amount: Decimal | None
    currency: str
    converted: Decimal | None
    closed_at: datetime
    reason: str | None


class ClosedDeals(_Model):
    """All the week's wins (or losses) in totals, the largest `TOP` of them in detail."""

    count: int
    amount: Decimal
    unpriced: int
    deals: list[ClosedDeal]


class PushedDeal(_Model):
    """A deal whose expected close date moved later this week."""

    number: int
    name: str
    owner_id: str
    pushes: int
    old_date: date
    close_date: date | None
    amount: Decimal | None
    currency: str


class PushedDeals(_Model):
    """Close dates pushed this week: deals, push events and the largest deals in detail."""

    count: int
    pushes: int
    deals: list[PushedDeal]


class StaleDeal(_Model):
    """An open deal gone quiet past its stage's threshold."""

    number: int
    name: str
    owner_id: str
    stage: str
    stage_name: str
    amount: Decimal | None
    currency: str
    last_activity_at: datetime
    days_quiet: int


class Bottleneck(_Model):
    """The stage where deals linger longest relative to its stale threshold."""

    stage: str
    name: str
    median_days: float
    stale_days: int
    ratio: float
    exits: int


class DigestData(_Model):
    """Everything the weekly digest shows, for one team and the 7 days before `end`."""

    team: str
    currency: str
    timezone: str
    start: datetime
    end: datetime
    first_day: date
    last_day: date
    open: Totals
    open_before: Totals
    unpriced: int
    unpriced_before: int
    missing_rates: list[str]
    stages: list[StageSummary]
    new: Amounts
    advances: int
    won: ClosedDeals
    lost: ClosedDeals
    pushed: PushedDeals
    forecast: Forecast
    window_start: datetime
    window_end: datetime
    won_count: int
    lost_count: int
    win_rate: float | None
    avg_days_to_win: float | None
    avg_won_amount: Decimal | None
    bottleneck: Bottleneck | None
    stale_count: int
    stale: list[StaleDeal]


def collect_digest(session: Session, team_id: str, *, now: datetime) -> DigestData:
    """The digest of the week before `now`: metrics now and 7 days ago, movement, forecast."""
    team = repo.get_team(session, team_id)
    if team is None:
        raise NotFound(f"There is no team {team_id}.", example="pipebot stats --team T0123")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    start = now - WEEK
    stages = list(team.stages)
    names = {s.key: s.name for s in stages}
    rates = Rates.of(team)
    today = today_in(team.timezone, now)

    current = compute(session, team_id, as_of=now)
    before = compute(session, team_id, as_of=start)
    created = and_(Deal.team_id == team_id, Deal.created_at >= start, Deal.created_at < now)

    stale = and_(
        Deal.team_id == team_id,
        Deal.status == DealStatus.OPEN.value,
        stale_condition(Deal.stage, Deal.last_activity_at, stages, now, today),
    )
    stale_rows = session.scalars(
        select(Deal).where(stale).order_by(Deal.last_activity_at, Deal.number).limit(TOP)
    ).all()

    return DigestData(
        team=team_id,
        currency=team.currency,
        timezone=team.timezone,
        start=start,
        end=now,
        first_day=today_in(team.timezone, start),
        last_day=today,
        open=current.open,
        open_before=before.open,
        unpriced=current.unpriced,
        unpriced_before=before.unpriced,
        missing_rates=_missing_rates(session, team_id, start, rates),
        stages=_stages(stages, current, before),
        new=_amounts(session, created, rates),
        advances=_advances(session, team_id, start, now),
        won=_closed(session, team_id, DealStatus.WON, start, now, rates, names),
        lost=_closed(session, team_id, DealStatus.LOST, start, now, rates, names),
        pushed=_pushed(session, team_id, start, now, rates),
        forecast=forecast(session, team_id, as_of=now, metrics=current),
        window_start=current.start,
        window_end=current.end,
        won_count=current.won_count,
        lost_count=current.lost_count,
        win_rate=current.win_rate,
        avg_days_to_win=current.avg_days_to_win,
        avg_won_amount=current.avg_won_amount,
        bottleneck=_bottleneck(stages, current),
        stale_count=session.execute(
            select(func.count()).select_from(Deal).where(stale)
        ).scalar_one(),
        stale=[
            StaleDeal(
                number=d.number,
                name=d.name,
                owner_id=d.owner_id,
                stage=d.stage,
                stage_name=names.get(d.stage, d.stage),
                amount=d.amount,
                currency=d.currency,
                last_activity_at=d.last_activity_at,
                days_quiet=(now - d.last_activity_at).days,
            )
            for d in stale_rows
        ],
    )


def _missing_rates(session: Session, team_id: str, start: datetime, rates: Rates) -> list[str]:
    """Currencies of open or recently closed deals the team has no rate for."""
    recent = or_(Deal.status == DealStatus.OPEN.value, Deal.closed_at >= start)
    currencies = session.scalars(
        select(Deal.currency)
        .where(Deal.team_id == team_id, recent, Deal.currency.not_in(list(rates.rates)))
        .distinct()
        .order_by(Deal.currency)
    )
    return list(currencies)


def _stages(stages: list[Stage], current: Metrics, before: Metrics) -> list[StageSummary]:
    now_by = {r.stage: r for r in current.by_stage}
    then_by = {r.stage: r for r in before.by_stage}
    funnel = {f.stage: f for f in current.funnel}
    durations = {d.stage: d for d in current.days_in_stage}
    result = []
    for s in stages:
        n, b, f, d = now_by[s.key], then_by[s.key], funnel[s.key], durations[s.key]
        result.append(
            StageSummary(
                stage=s.key,
                name=s.name,
                probability=s.probability,
                stale_days=s.stale_days,
                count=n.count,
                amount=n.amount,
                weighted=n.weighted,
                count_before=b.count,
                amount_before=b.amount,
                weighted_before=b.weighted,
                count_change=n.count - b.count,
                amount_change=n.amount - b.amount,
                weighted_change=n.weighted - b.weighted,
                reached=f.reached,
                lost_at=f.lost_at,
                conversion_rate=f.conversion_rate,
                loss_rate=f.loss_rate,
                win_rate_from=f.win_rate_from,
                median_days=d.median,
                exits=d.exits,
            )
        )
    return result


def _amounts(session: Session, condition: ColumnElement[bool], rates: Rates) -> Amounts:
    rows = session.execute(
        select(
            Deal.currency, func.count(), func.count(Deal.amount_cents), func.sum(Deal.amount_cents)
        )
        .where(condition)
        .group_by(Deal.currency)
    ).all()
    count, total, unpriced = 0, Decimal(0), 0
    for currency, n, priced, cents in rows:
        count += n
        converted = rates.convert(int(cents or 0), currency)
        if converted is None:
            unpriced += n
        else:
            total += converted
            unpriced += n - priced
    return Amounts(count=count, amount=money(total), unpriced=unpriced)


def _advances(session: Session, team_id: str, start: datetime, end: datetime) -> int:
    """Moves to a later open stage; creations, moves back, outcomes and reopens don't count."""
    src, dst = aliased(Stage), aliased(Stage)
    return session.execute(
        select(func.count())
        .select_from(StageChange)
        .join(src, and_(src.team_id == team_id, src.key == StageChange.from_stage))
        .join(dst, and_(dst.team_id == team_id, dst.key == StageChange.to_stage))
        .where(
            StageChange.team_id == team_id,
            StageChange.at >= start,
            StageChange.at < end,
            dst.position > src.position,
        )
    ).scalar_one()


def _by_amount(rates: Rates) -> list[Any]:
    """Largest converted amount first, unpriced deals last, then by number."""
    key = rates.sort_key(Deal.amount_cents, Deal.currency)
    return [key.is_(None), key.desc(), Deal.number]


def _closed(
    session: Session,
    team_id: str,
    status: DealStatus,
    start: datetime,
    end: datetime,
    rates: Rates,
    names: dict[str, str],
) -> ClosedDeals:
    condition = and_(
        Deal.team_id == team_id,
        Deal.status == status.value,
        Deal.closed_at >= start,
        Deal.closed_at < end,
    )
    totals = _amounts(session, condition, rates)
    rows = session.scalars(select(Deal).where(condition).order_by(*_by_amount(rates)).limit(TOP))
    deals = []
    for d in rows:
        assert d.closed_at is not None
        converted = None if d.amount_cents is None else rates.convert(d.amount_cents, d.currency)
        deals.append(
            ClosedDeal(
                number=d.number,
                name=d.name,
                owner_id=d.owner_id,
                stage=d.stage,
                stage_name=names.get(d.stage, d.stage),
                amount=d.amount,
                currency=d.currency,
                converted=None if converted is None else money(converted),
                closed_at=d.closed_at,
                reason=d.lost_reason,
            )
        )
    return ClosedDeals(
        count=totals.count, amount=totals.amount, unpriced=totals.unpriced, deals=deals
    )


def _pushed(
    session: Session, team_id: str, start: datetime, end: datetime, rates: Rates
) -> PushedDeals:
    """Close dates moved later this week (the same test as metrics' slippage)."""
    pushes = (
        select(
            CloseDateChange.deal_id.label("deal_id"),
            func.count().label("n"),
            func.min(CloseDateChange.old_date).label("old_date"),
        )
        .where(
            CloseDateChange.team_id == team_id,
            CloseDateChange.at >= start,
            CloseDateChange.at < end,
            CloseDateChange.old_date.is_not(None),
            CloseDateChange.new_date > CloseDateChange.old_date,
        )
        .group_by(CloseDateChange.deal_id)
        .subquery("pushes")
    )
    joined = and_(Deal.id == pushes.c.deal_id, Deal.team_id == team_id)
    count, events = session.execute(
        select(func.count(), func.coalesce(func.sum(pushes.c.n), 0))
        .select_from(pushes)
        .join(Deal, joined)
    ).one()
    rows = session.execute(
        select(Deal, pushes.c.n, pushes.c.old_date)
        .join(pushes, joined)
        .order_by(*_by_amount(rates))
        .limit(TOP)
    ).all()
    return PushedDeals(
        count=count,
        pushes=int(events),
        deals=[
            PushedDeal(
                number=d.number,
                name=d.name,
                owner_id=d.owner_id,
                pushes=n,
                old_date=old,
                close_date=d.close_date,
                amount=d.amount,
                currency=d.currency,
            )
            for d, n, old in rows
        ],
    )


def _bottleneck(stages: list[Stage], metrics: Metrics) -> Bottleneck | None:
    """The stage with the largest median days in stage (window exits) ÷ its stale threshold."""
    durations = {d.stage: d for d in metrics.days_in_stage}
    best: Bottleneck | None = None
    for s in stages:
        d = durations.get(s.key)
        if d is None or d.median is None:
            continue
        ratio = round(d.median / s.stale_days, 2)
        if best is None or ratio > best.ratio:
            best = Bottleneck(
                stage=s.key,
                name=s.name,
                median_days=d.median,
                stale_days=s.stale_days,
                ratio=ratio,
                exits=d.exits,
            )
    return best
