"""Pipeline metrics: their definitions, and the calculators that combine the rows SQL returns.

The queries run in storage, where the data lives (`MetricsSource`); sums come back per
(group, currency) as exact integer cents, and only those few aggregates are converted to the
reporting currency here, so no amount is ever summed as a float.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pipeline.dates import today_in
from pipeline.errors import InvalidInput
from pipeline.planning_metrics import (
    Planning,
    PlanningSource,
    ReasonStats,
    SourceStats,
    TargetStats,
    measure,
    render_planning,
)
from pipeline.schemas import StageOut, TeamOut
from pipeline.types import LOST, WON

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
    by_source: list[SourceStats] = []
    lost_reasons: list[ReasonStats] = []
    targets: list[TargetStats] = []

    def to_json(self) -> dict[str, Any]:
        """The public `stats --json` document."""
        return self.model_dump(mode="json", by_alias=True)


# --- the rows the queries return ------------------------------------------------------------


class AmountRow(NamedTuple):
    """Deals of one group (a stage or a status) in one currency: how many, summed cents."""

    group: str
    currency: str
    deals: int
    cents: int | None


class Spread(NamedTuple):
    """Median, mean and count of a set of values (seconds, for durations)."""

    median: float
    mean: float
    n: int


class OpenDeals(NamedTuple):
    """The deals open at a moment: totals per stage and currency, and the lists to act on."""

    totals: list[AmountRow]
    stale: list[int]
    overdue_next_steps: list[int]
    past_close_date: list[int]
    slipped: list[int]


class Cohort(NamedTuple):
    """Deals closed in a window: totals per status and currency, priced wins, days to win."""

    totals: list[AmountRow]
    priced_won: dict[str, int]
    seconds_to_win: Spread | None


class LostRow(NamedTuple):
    """Lost deals by the stage they closed from and the furthest stage position they reached."""

    closed_from: str
    furthest: int | None
    deals: int


class FunnelRows(NamedTuple):
    """The closed cohort's wins, and its losses by closing and furthest stage."""

    won: int
    lost: list[LostRow]


class MetricsSource(PlanningSource, Protocol):
    """One team's data, as the metric queries return it (storage implements it)."""

    @property
    def team(self) -> TeamOut:
        """The team's settings: time zone, currency, stages and rates."""
        ...

    def open_deals(self, as_of: datetime, today: date) -> OpenDeals:
        """The deals open at `as_of` (rebuilt from history when looking back)."""
        ...

    def cohort(self, start: datetime, end: datetime) -> Cohort:
        """The deals closed in [start, end)."""
        ...

    def funnel(self, start: datetime, end: datetime) -> FunnelRows:
        """How the deals closed in [start, end) went through the stages."""
        ...

    def stage_exits(self, start: datetime, end: datetime) -> dict[str, Spread]:
        """Seconds spent in each open stage, over the exits in [start, end)."""
        ...


# --- calculators ----------------------------------------------------------------------------


class Rates:
    """Cents in a deal's currency to the reporting currency, or None when there is no rate."""

    def __init__(self, currency: str, rates: Mapping[str, Decimal]) -> None:
        self.currency = currency
        self.rates = {**rates, currency: Decimal(1)}

    @classmethod
    def of(cls, team: TeamOut) -> Rates:
        """The team's reporting currency and rates."""
        return cls(team.currency, {code: Decimal(rate) for code, rate in team.rates.items()})

    def convert(self, cents: int, currency: str) -> Decimal | None:
        """Exact conversion of a sum of cents; None without a rate."""
        rate = self.rates.get(currency)
        return None if rate is None else Decimal(cents).scaleb(-2) * rate


def money(value: Decimal) -> Decimal:
    """Round to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def aware(moment: datetime, name: str) -> datetime:
    """`moment`, refused when it has no time zone (which instant it means is unknown)."""
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def spreads(pairs: Iterable[tuple[str, float | None]]) -> dict[str, Spread]:
    """Median, mean and count per key over (key, value) pairs; missing values are skipped."""
    # Grouped as they come, converted per group: a third less time than a setdefault and a
    # float() call per pair, on the 40,000 exits of a large team (docs/PERFORMANCE.md).
    groups: defaultdict[str, list[float | None]] = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    result = {}
    for key, values in groups.items():
        v = [float(x) for x in values if x is not None]
        if v:
            result[key] = Spread(statistics.median(v), math.fsum(v) / len(v), len(v))
    return result


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / DAY, 2)


def cohort_window(
    as_of: datetime, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The closed cohort's [start, end): by default the 90 days up to `as_of`."""
    if end is None:
        end = as_of if start is None else max(as_of, start + DEFAULT_WINDOW)
    if start is None:
        start = end - DEFAULT_WINDOW
    if start >= end:
        raise InvalidInput(
            "The window's start must come before its end.",
            example="stats --from 2026-07-01 --to 2026-10-01",
        )
    return start, end


def compute(
    source: MetricsSource,
    *,
    as_of: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    planning: bool = True,
) -> Metrics:
    """All metrics of the source's team at `as_of`, over the closed cohort of [start, end).

    `planning=False` leaves out by_source, lost_reasons and targets (empty), for a caller that
    only compares the pipeline with an earlier moment's.
    """
    team = source.team
    start, end = cohort_window(aware(as_of, "as_of"), start, end)
    stages, rates = team.stages, Rates.of(team)
    open_deals, (open_total, unpriced, by_stage) = pipeline_at(source, as_of)
    cohort = source.cohort(start, end)
    won, lost, avg_won = cohort_totals(cohort, rates)
    to_win = cohort.seconds_to_win
    plan = measure(source, team, as_of, start, end) if planning else Planning([], [], [])
    return Metrics(
        team=team.id,
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
        avg_days_to_win=_days(to_win.mean) if to_win else None,
        median_days_to_win=_days(to_win.median) if to_win else None,
        funnel=funnel_steps(source.funnel(start, end), stages),
        days_in_stage=stage_durations(source.stage_exits(start, end), stages),
        stale=open_deals.stale,
        overdue_next_steps=open_deals.overdue_next_steps,
        past_close_date=open_deals.past_close_date,
        slipped=open_deals.slipped,
        by_source=plan.by_source,
        lost_reasons=plan.lost_reasons,
        targets=plan.targets,
    )


def pipeline_at(
    source: MetricsSource, as_of: datetime
) -> tuple[OpenDeals, tuple[Totals, int, list[StageTotals]]]:
    """The open pipeline at `as_of` alone (what `compute` reports of it, without the cohort)."""
    team = source.team
    open_deals = source.open_deals(aware(as_of, "as_of"), today_in(team.timezone, as_of))
    return open_deals, open_totals(open_deals.totals, team.stages, Rates.of(team))


def open_totals(
    rows: Iterable[AmountRow], stages: Sequence[StageOut], rates: Rates
) -> tuple[Totals, int, list[StageTotals]]:
    """Open totals, unpriced count and per-stage totals from (stage, currency) sums."""
    probability = {s.key: s.probability for s in stages}
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    unpriced = 0
    for stage, currency, n, cents in rows:
        counts[stage] += n
        converted = rates.convert(int(cents or 0), currency)
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
            amount=money(amounts.get(s.key, Decimal(0))),
            weighted=money(amounts.get(s.key, Decimal(0)) * s.probability / 100),
        )
        for s in stages
    ]
    # Deals in a stage since removed (only when looking back) count, weighted at 0 %.
    total_amount = sum(amounts.values(), Decimal(0))
    weighted = sum(
        (amount * probability.get(key, 0) / 100 for key, amount in amounts.items()), Decimal(0)
    )
    totals = Totals(
        count=sum(counts.values()), amount=money(total_amount), weighted=money(weighted)
    )
    return totals, unpriced, by_stage


def cohort_totals(cohort: Cohort, rates: Rates) -> tuple[int, int, Decimal | None]:
    """Won and lost counts of the closed cohort, and the average priced win."""
    won = sum(row.deals for row in cohort.totals if row.group == WON)
    lost = sum(row.deals for row in cohort.totals if row.group == LOST)
    won_total = Decimal(0)
    won_priced = 0
    for status, currency, _, cents in cohort.totals:
        if status != WON:
            continue
        converted = rates.convert(int(cents or 0), currency)
        if converted is not None:
            won_total += converted
            won_priced += cohort.priced_won.get(currency, 0)
    avg_won = money(won_total / won_priced) if won_priced else None
    return won, lost, avg_won


def funnel_steps(rows: FunnelRows, stages: Sequence[StageOut]) -> list[FunnelStep]:
    """Reached / lost-at counts per stage over the closed cohort.

    A won deal passed every stage; a lost deal reached its furthest stage and every stage
    before it, skipped ones included.
    """
    won = rows.won
    steps = []
    for stage in stages:
        reached = won + sum(
            n for _, far, n in rows.lost if far is not None and far >= stage.position
        )
        lost_at = sum(n for frm, _, n in rows.lost if frm == stage.key)
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


def stage_durations(exits: Mapping[str, Spread], stages: Sequence[StageOut]) -> list[StageDuration]:
    """Days in each stage, in days, from the seconds spent before each exit."""
    result = []
    for stage in stages:
        spread = exits.get(stage.key)
        result.append(
            StageDuration(
                stage=stage.key,
                name=stage.name,
                exits=spread.n if spread else 0,
                median=_days(spread.median) if spread else None,
                mean=_days(spread.mean) if spread else None,
            )
        )
    return result


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
    planning = Planning(metrics.by_source, metrics.lost_reasons, metrics.targets)
    lines += render_planning(planning, cur)
    return "\n".join(lines)
