"""Forecast for this month and this quarter: what is won plus open deals weighted two ways.

Open deals are weighted by their stage's configured probability and by its calibrated one
(the share of recently closed deals that went on to win from that stage, `win_rate_from`).
Like metrics, sums come back from SQL per (group, currency) in integer cents and only those
few aggregates are converted to the reporting currency; an unpriced deal (no amount, or no
rate for its currency) is left out of every amount and counted instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from pipeline.dates import end_of_month, end_of_quarter, month_start, quarter_start, today_in
from pipeline.errors import NotFound
from pipeline.metrics import Metrics, compute
from pipeline.types import DealStatus
from storage import repositories as repo
from storage.models import Deal, Team

CENT = Decimal("0.01")
Period = Literal["month", "quarter"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageProbability(_Model):
    """A stage's configured win probability and the one measured on closed deals."""

    stage: str
    name: str
    configured: int
    calibrated: float | None


class PeriodForecast(_Model):
    """Won so far plus weighted open deals expected to close in one period."""

    period: Period
    start: date
    end: date
    won_count: int
    won: Decimal
    open_count: int
    overdue_count: int
    open_amount: Decimal
    weighted_configured: Decimal
    weighted_calibrated: Decimal
    forecast_configured: Decimal
    forecast_calibrated: Decimal
    unpriced: int
    fallback_stages: list[str]


class Forecast(_Model):
    """This month's and this quarter's forecast of one team, in its reporting currency."""

    team: str
    as_of: datetime
    today: date
    currency: str
    month: PeriodForecast
    quarter: PeriodForecast
    undated_count: int
    undated_amount: Decimal
    undated_unpriced: int
    missing_rates: list[str]
    stages: list[StageProbability]


class Rates:
    """Cents in a deal's currency to the reporting currency, or None when there is no rate."""

    def __init__(self, currency: str, rates: Mapping[str, Decimal]) -> None:
        self.currency = currency
        self.rates = {**rates, currency: Decimal(1)}

    @classmethod
    def of(cls, team: Team) -> Rates:
        """The team's reporting currency and rates."""
        return cls(team.currency, {r.currency: Decimal(r.rate) for r in team.rates})

    def convert(self, cents: int, currency: str) -> Decimal | None:
        """Exact conversion of a sum of cents; None without a rate."""
        rate = self.rates.get(currency)
        return None if rate is None else Decimal(cents).scaleb(-2) * rate

    def sort_key(self, cents: Any, currency: Any) -> ColumnElement[Any]:
        """An SQL expression ordering amounts across currencies (NULL when unpriced)."""
        # Floats are fine here: the value only orders rows, the shown amounts stay exact.
        rate = case(
            {code: literal(float(r)) for code, r in self.rates.items()},
            value=currency,
            else_=None,
        )
        expr: ColumnElement[Any] = rate * cents
        return expr


def money(value: Decimal) -> Decimal:
    """Round to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a day starts in a time zone."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass
class _Sum:
    won_count: int = 0
    won: Decimal = Decimal(0)
    open_count: int = 0
    overdue: int = 0
    open_amount: Decimal = Decimal(0)
    configured: Decimal = Decimal(0)
    calibrated: Decimal = Decimal(0)
    unpriced: int = 0
    fallback: set[str] = field(default_factory=set)

    def result(self, period: Period, start: date, end: date, order: list[str]) -> PeriodForecast:
        return PeriodForecast(
            period=period,
            start=start,
            end=end,
            won_count=self.won_count,
            won=money(self.won),
            open_count=self.open_count,
            overdue_count=self.overdue,
            open_amount=money(self.open_amount),
            weighted_configured=money(self.configured),
            weighted_calibrated=money(self.calibrated),
            forecast_configured=money(self.won) + money(self.configured),
            forecast_calibrated=money(self.won) + money(self.calibrated),
            unpriced=self.unpriced,
            fallback_stages=[key for key in order if key in self.fallback],
        )


def forecast(
    session: Session, team_id: str, *, as_of: datetime, metrics: Metrics | None = None
) -> Forecast:
    """This month's and quarter's forecast (team time zone): won + weighted open deals.

    An open deal counts in a period when its expected close date falls in it; an overdue close
    date (before today) counts in the current month and quarter, since the deal is still
    expected to close. Deals with no close date are counted apart. Won amounts are the deals
    won from the period's start up to `as_of`. The calibrated weight is the funnel's
    `win_rate_from` over metrics' default 90-day window (pass `metrics` to reuse a
    computation); a stage without one falls back to its configured probability and is listed
    in `fallback_stages`.
    """
    team = repo.get_team(session, team_id)
    if team is None:
        raise NotFound(f"There is no team {team_id}.", example="pipebot stats --team T0123")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if metrics is None:
        metrics = compute(session, team_id, as_of=as_of)
    elif metrics.team != team_id:
        raise ValueError(f"metrics of team {metrics.team} given for team {team_id}")
    zone = ZoneInfo(team.timezone)
    today = today_in(zone, as_of)
    m_start, m_end = month_start(today), end_of_month(today)
    q_start, q_end = quarter_start(today), end_of_quarter(today)
    rates = Rates.of(team)

    calibrated = {step.stage: step.win_rate_from for step in metrics.funnel}
    probabilities = [
        StageProbability(
            stage=s.key, name=s.name, configured=s.probability, calibrated=calibrated.get(s.key)
        )
        for s in team.stages
    ]
    by_key = {p.stage: p for p in probabilities}
    order = [p.stage for p in probabilities]
    month, quarter, undated = _Sum(), _Sum(), _Sum()
    missing: set[str] = set()

    bucket = case(
        (Deal.close_date.is_(None), literal("none")),
        (Deal.close_date <= m_end, literal("month")),
        else_=literal("quarter"),
    )
    dated = (
        select(
            Deal.stage.label("stage"),
            Deal.currency.label("currency"),
            Deal.amount_cents.label("cents"),
            bucket.label("bucket"),
            case((Deal.close_date < today, 1), else_=0).label("overdue"),
        )
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.OPEN.value,
            or_(Deal.close_date.is_(None), Deal.close_date <= q_end),
        )
        .subquery("dated")
    )
    open_rows = session.execute(
        select(
            dated.c.stage,
            dated.c.currency,
            dated.c.bucket,
            dated.c.overdue,
            func.count(),
            func.count(dated.c.cents),
            func.sum(dated.c.cents),
        ).group_by(dated.c.stage, dated.c.currency, dated.c.bucket, dated.c.overdue)
    ).all()
    for stage, currency, where, overdue, n, priced, cents in open_rows:
        targets = {"month": [month, quarter], "quarter": [quarter], "none": [undated]}[where]
        converted = rates.convert(int(cents or 0), currency) if priced else Decimal(0)
        if converted is None:
            missing.add(currency)
        probability = by_key.get(stage)
        configured = Decimal(probability.configured if probability else 0) / 100
        rate = probability.calibrated if probability else 0.0
        for acc in targets:
            acc.open_count += n
            acc.overdue += n if overdue else 0
            acc.unpriced += n - (priced if converted is not None else 0)
            if probability is not None and rate is None:
                acc.fallback.add(stage)
            if converted is None:
                continue
            acc.open_amount += converted
            acc.configured += converted * configured
            acc.calibrated += converted * (configured if rate is None else Decimal(str(rate)))

    m_from, q_from = utc_midnight(m_start, zone), utc_midnight(q_start, zone)
    won = (
        select(
            Deal.currency.label("currency"),
            Deal.amount_cents.label("cents"),
            case((Deal.closed_at >= m_from, literal("month")), else_=literal("quarter")).label(
                "bucket"
            ),
        )
        .where(
            Deal.team_id == team_id,
            Deal.status == DealStatus.WON.value,
            Deal.closed_at >= q_from,
            Deal.closed_at <= as_of,
        )
        .subquery("won")
    )
    won_rows = session.execute(
        select(
            won.c.currency,
            won.c.bucket,
            func.count(),
            func.count(won.c.cents),
            func.sum(won.c.cents),
        ).group_by(won.c.currency, won.c.bucket)
    ).all()
    for currency, where, n, priced, cents in won_rows:
        converted = rates.convert(int(cents or 0), currency) if priced else Decimal(0)
        if converted is None:
            missing.add(currency)
        for acc in [month, quarter] if where == "month" else [quarter]:
            acc.won_count += n
            acc.unpriced += n - (priced if converted is not None else 0)
            if converted is not None:
                acc.won += converted

    return Forecast(
        team=team_id,
        as_of=as_of,
        today=today,
        currency=team.currency,
        month=month.result("month", m_start, m_end, order),
        quarter=quarter.result("quarter", q_start, q_end, order),
        undated_count=undated.open_count,
        undated_amount=money(undated.open_amount),
        undated_unpriced=undated.unpriced,
        missing_rates=sorted(missing),
        stages=probabilities,
    )
