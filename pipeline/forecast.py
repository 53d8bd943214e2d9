"""Forecast for this month and this quarter: what is won plus open deals weighted two ways.

Open deals are weighted by their stage's configured probability and by its calibrated one
(the share of recently closed deals that went on to win from that stage, `win_rate_from`).
Like metrics, sums come back from SQL (storage, through `ForecastSource`) per (group,
currency) in integer cents and only those few aggregates are converted to the reporting
currency; an unpriced deal (no amount, or no rate for its currency) is left out of every
amount and counted instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from pipeline.dates import end_of_month, end_of_quarter, month_start, quarter_start, today_in
from pipeline.metrics import Metrics, MetricsSource, Rates, aware, compute, money

Period = Literal["month", "quarter"]
Bucket = Literal["month", "quarter", "none"]


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


class OpenRow(NamedTuple):
    """Open deals of one stage and currency, by the period their close date falls in."""

    stage: str
    currency: str
    bucket: Bucket
    overdue: bool
    deals: int
    priced: int
    cents: int | None


class WonRow(NamedTuple):
    """Deals won this quarter in one currency, by whether they were won this month."""

    currency: str
    bucket: Period
    deals: int
    priced: int
    cents: int | None


class ForecastSource(MetricsSource, Protocol):
    """The forecast's queries over one team's deals (storage implements it)."""

    def open_by_close(self, today: date, month_end: date, quarter_end: date) -> list[OpenRow]:
        """Open deals closing by `quarter_end` or undated, by stage, currency and period."""
        ...

    def won_since(
        self, quarter_from: datetime, month_from: datetime, as_of: datetime
    ) -> list[WonRow]:
        """Deals won in [quarter_from, as_of], by currency and whether won since `month_from`."""
        ...


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
    source: ForecastSource, *, as_of: datetime, metrics: Metrics | None = None
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
    team = source.team
    aware(as_of, "as_of")
    if metrics is None:
        metrics = compute(source, as_of=as_of)
    elif metrics.team != team.id:
        raise ValueError(f"metrics of team {metrics.team} given for team {team.id}")
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
    month, quarter, undated = _Sum(), _Sum(), _Sum()
    missing: set[str] = set()
    open_rows = source.open_by_close(today, m_end, q_end)
    _add_open(open_rows, probabilities, rates, month, quarter, undated, missing)
    m_from, q_from = utc_midnight(m_start, zone), utc_midnight(q_start, zone)
    _add_won(source.won_since(q_from, m_from, as_of), rates, month, quarter, missing)

    order = [p.stage for p in probabilities]
    return Forecast(
        team=team.id,
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


def _add_open(
    rows: list[OpenRow],
    probabilities: list[StageProbability],
    rates: Rates,
    month: _Sum,
    quarter: _Sum,
    undated: _Sum,
    missing: set[str],
) -> None:
    """Add the open deals to the periods their close dates fall in, weighted both ways."""
    by_key = {p.stage: p for p in probabilities}
    for stage, currency, where, overdue, n, priced, cents in rows:
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


def _add_won(
    rows: list[WonRow], rates: Rates, month: _Sum, quarter: _Sum, missing: set[str]
) -> None:
    """Add this quarter's wins to the quarter, and this month's to the month too."""
    for currency, where, n, priced, cents in rows:
        converted = rates.convert(int(cents or 0), currency) if priced else Decimal(0)
        if converted is None:
            missing.add(currency)
        for acc in [month, quarter] if where == "month" else [quarter]:
            acc.won_count += n
            acc.unpriced += n - (priced if converted is not None else 0)
            if converted is not None:
                acc.won += converted
