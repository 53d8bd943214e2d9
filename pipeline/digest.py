"""The weekly digest's numbers: the pipeline now and a week ago, the week's movement, the
forecast, conversion and the deals that need attention.

Every query is scoped by team and runs in storage (`DigestSource`). Sums come back per
currency in integer cents and are converted with the team's rates here; lists come back
ordered in SQL by their converted amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pipeline.accuracy import AccuracySource, PeriodAccuracy, accuracy, ended_since
from pipeline.dates import today_in
from pipeline.forecast import Forecast, ForecastSource, forecast
from pipeline.forecast_range import ForecastRanges, RangeSource, forecast_ranges
from pipeline.metrics import (
    AmountRow,
    Metrics,
    Rates,
    StageTotals,
    Totals,
    aware,
    compute,
    money,
    open_totals,
)
from pipeline.planning import LostReason, reason_label
from pipeline.planning_metrics import ReasonStats, SourceStats, TargetStats
from pipeline.schemas import DealOut, StageOut
from pipeline.types import DealStatus

WEEK = timedelta(days=7)
TOP = 10


class CurrencyRow(NamedTuple):
    """Deals in one currency: how many, how many have an amount, their summed cents."""

    currency: str
    deals: int
    priced: int
    cents: int | None


class ClosedRows(NamedTuple):
    """Deals closed one way in a window: sums per currency and the largest deals."""

    totals: list[CurrencyRow]
    deals: list[DealOut]


class PushRow(NamedTuple):
    """A deal whose close date moved later: how often, and its earliest old date."""

    deal: DealOut
    pushes: int
    old_date: date


class PushRows(NamedTuple):
    """Close-date pushes in a window: deals, push events and the largest deals."""

    total: int
    pushes: int
    deals: list[PushRow]


class StaleRows(NamedTuple):
    """Open deals gone quiet: how many, and the quietest ones."""

    total: int
    deals: list[DealOut]


class DigestSource(ForecastSource, RangeSource, AccuracySource, Protocol):
    """The digest's queries over one team's deals (storage implements it)."""

    def open_sums(self, as_of: datetime) -> list[AmountRow]:
        """The deals open at `as_of` per (stage, currency): how many, summed cents."""
        ...

    def missing_rates(self, since: datetime, known: Sequence[str]) -> list[str]:
        """Currencies not in `known` of open deals or deals closed since `since`."""
        ...

    def created(self, start: datetime, end: datetime) -> list[CurrencyRow]:
        """Deals created in [start, end), per currency."""
        ...

    def advances(self, start: datetime, end: datetime) -> int:
        """Moves to a later open stage in [start, end)."""
        ...

    def closed(
        self,
        status: DealStatus,
        start: datetime,
        end: datetime,
        rates: Mapping[str, Decimal],
        limit: int,
    ) -> ClosedRows:
        """Deals won (or lost) in [start, end); the `limit` largest by converted amount."""
        ...

    def pushed(
        self, start: datetime, end: datetime, rates: Mapping[str, Decimal], limit: int
    ) -> PushRows:
        """Close dates moved later in [start, end); the `limit` largest deals."""
        ...

    def stale(self, now: datetime, today: date, limit: int) -> StaleRows:
        """Open deals stale at `now`; the `limit` quietest first."""
        ...


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


class _DealLine(_Model):
    """What every deal line of the digest shows."""

    number: int
    name: str
    owner_id: str
    stage: str
    stage_name: str
    amount: Decimal | None
    currency: str


class ClosedDeal(_DealLine):
    """A deal won or lost this week; `stage` is the stage it closed from."""

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


class StaleDeal(_DealLine):
    """An open deal gone quiet past its stage's threshold."""

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
    ranges: ForecastRanges | None = None  # None: not simulated
    accuracy: list[PeriodAccuracy] = Field(default_factory=list)  # periods ended this week
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
    # The planning numbers: over the same 90-day window as the win rate, targets at `end`.
    targets: list[TargetStats] = []
    losses: list[ReasonStats] = []
    by_source: list[SourceStats] = []
    lost_reasons: list[LostReason] = []


def collect_digest(source: DigestSource, *, now: datetime) -> DigestData:
    """The digest of the week before `now`: metrics now and 7 days ago, movement, forecast."""
    team = source.team
    start = aware(now, "now") - WEEK
    stages = team.stages
    names = {s.key: s.name for s in stages}
    rates = Rates.of(team)
    today = today_in(team.timezone, now)

    current = compute(source, as_of=now)
    # A week ago only the open pipeline's sums are shown: no cohort, funnel or time in stage
    # then, nor its stale or overdue deals, so only each deal's stage then is rebuilt.
    open_before, unpriced_before, by_stage_before = open_totals(
        source.open_sums(start), stages, rates
    )
    stale = source.stale(now, today, TOP)
    fc = forecast(source, as_of=now, metrics=current)
    return DigestData(
        team=team.id,
        currency=team.currency,
        timezone=team.timezone,
        start=start,
        end=now,
        first_day=today_in(team.timezone, start),
        last_day=today,
        open=current.open,
        open_before=open_before,
        unpriced=current.unpriced,
        unpriced_before=unpriced_before,
        missing_rates=source.missing_rates(start, list(rates.rates)),
        stages=_stages(stages, current, by_stage_before),
        new=_amounts(source.created(start, now), rates),
        advances=source.advances(start, now),
        won=_closed(source.closed(DealStatus.WON, start, now, rates.rates, TOP), rates, names),
        lost=_closed(
            source.closed(DealStatus.LOST, start, now, rates.rates, TOP),
            rates,
            names,
            team.lost_reasons,
        ),
        pushed=_pushed(source.pushed(start, now, rates.rates, TOP)),
        forecast=fc,
        ranges=forecast_ranges(source, fc, current),
        accuracy=ended_since(accuracy(source, as_of=now), start, team.timezone),
        window_start=current.start,
        window_end=current.end,
        won_count=current.won_count,
        lost_count=current.lost_count,
        win_rate=current.win_rate,
        avg_days_to_win=current.avg_days_to_win,
        avg_won_amount=current.avg_won_amount,
        bottleneck=_bottleneck(stages, current),
        targets=current.targets,
        losses=current.lost_reasons,
        by_source=current.by_source,
        lost_reasons=team.lost_reasons,
        stale_count=stale.total,
        stale=[
            StaleDeal(
                **_line(d, names),
                last_activity_at=d.last_activity_at,
                days_quiet=(now - d.last_activity_at).days,
            )
            for d in stale.deals
        ],
    )


def _stages(
    stages: Sequence[StageOut], current: Metrics, before: Sequence[StageTotals]
) -> list[StageSummary]:
    now_by = {r.stage: r for r in current.by_stage}
    then_by = {r.stage: r for r in before}
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


def _amounts(rows: Sequence[CurrencyRow], rates: Rates) -> Amounts:
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


def _line(d: DealOut, names: Mapping[str, str]) -> dict[str, Any]:
    """The fields of a deal's digest line: who, what, where, how much."""
    return {
        "number": d.number,
        "name": d.name,
        "owner_id": d.owner_id,
        "stage": d.stage,
        "stage_name": names.get(d.stage, d.stage),
        "amount": d.amount,
        "currency": d.currency,
    }


def _closed(
    rows: ClosedRows,
    rates: Rates,
    names: Mapping[str, str],
    reasons: Sequence[LostReason] = (),
) -> ClosedDeals:
    totals = _amounts(rows.totals, rates)
    deals = []
    for d in rows.deals:
        assert d.closed_at is not None
        converted = None if d.amount is None else rates.convert(int(d.amount.scaleb(2)), d.currency)
        deals.append(
            ClosedDeal(
                **_line(d, names),
                converted=None if converted is None else money(converted),
                closed_at=d.closed_at,
                reason=reason_label(d.lost_reason, d.lost_detail, reasons),
            )
        )
    return ClosedDeals(
        count=totals.count, amount=totals.amount, unpriced=totals.unpriced, deals=deals
    )


def _pushed(rows: PushRows) -> PushedDeals:
    """Close dates moved later this week (the same test as metrics' slippage)."""
    return PushedDeals(
        count=rows.total,
        pushes=rows.pushes,
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
            for d, n, old in rows.deals
        ],
    )


def _bottleneck(stages: Sequence[StageOut], metrics: Metrics) -> Bottleneck | None:
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
