"""The planning numbers: lead sources compared, losses by reason, targets and attainment.

Like the other metrics, the sums come back from SQL (storage, through `PlanningSource`) per
(group, currency) in integer cents; only those aggregates are converted here, and a deal with
no amount or no rate for its currency is counted but never summed as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from pipeline.dates import today_in
from pipeline.planning import NONE, TargetOut, parse_period
from pipeline.schemas import TeamOut

CENT = Decimal("0.01")
DAY = 86400.0


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceStats(_Model):
    """One lead source over the window: created deals, and the closed cohort's outcomes."""

    source: str
    created: int
    won_count: int
    lost_count: int
    win_rate: float | None
    won_amount: Decimal
    avg_days_to_win: float | None


class ReasonStats(_Model):
    """The closed cohort's losses for one reason, and the stages they were lost from."""

    reason: str
    count: int
    amount: Decimal
    by_stage: dict[str, int]


class TargetStats(_Model):
    """A target of the period holding `as_of`: what is won, expected by now, and forecast."""

    owner: str | None
    period: str
    amount: Decimal
    won: Decimal
    attainment: float
    expected_by_now: Decimal
    open_weighted: Decimal
    forecast: Decimal
    gap: Decimal


class Planning(NamedTuple):
    """The three planning keys of the metrics."""

    by_source: list[SourceStats]
    lost_reasons: list[ReasonStats]
    targets: list[TargetStats]


# --- the rows the queries return ------------------------------------------------------------


class SourceRow(NamedTuple):
    """Closed-cohort deals of one source, status and currency."""

    source: str | None
    status: str
    currency: str
    deals: int
    cents: int | None
    win_seconds: float | None


class LossRow(NamedTuple):
    """Lost deals of the cohort with one reason, lost from one stage, in one currency."""

    reason: str | None
    stage: str
    currency: str
    deals: int
    cents: int | None


class OwnerRow(NamedTuple):
    """Summed cents of one owner's deals in one currency (and stage, for open deals)."""

    owner: str
    stage: str
    currency: str
    cents: int | None


class PlanningSource(Protocol):
    """One team's planning rows (storage implements it)."""

    def created_by_source(self, start: datetime, end: datetime) -> dict[str | None, int]:
        """How many deals were created in [start, end), per source."""
        ...

    def cohort_by_source(self, start: datetime, end: datetime) -> list[SourceRow]:
        """The deals closed in [start, end) per source, status and currency."""
        ...

    def losses(self, start: datetime, end: datetime) -> list[LossRow]:
        """The deals lost in [start, end) per reason, stage and currency."""
        ...

    def won_by_owner(self, start: datetime, end: datetime) -> list[OwnerRow]:
        """Deals won in [start, end) per owner and currency (stage left empty)."""
        ...

    def open_by_owner(self, as_of: datetime, first: date, last: date) -> list[OwnerRow]:
        """Deals open at `as_of` with a close date in [first, last], per owner, stage, currency."""
        ...


# --- calculators ----------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _convert(cents: int | None, currency: str, rates: Mapping[str, Decimal]) -> Decimal | None:
    """Cents in `currency` to the reporting currency; None without an amount or a rate."""
    rate = rates.get(currency)
    return None if rate is None or cents is None else Decimal(cents).scaleb(-2) * rate


def team_rates(team: TeamOut) -> dict[str, Decimal]:
    """The team's rates, its reporting currency at 1."""
    return {**{c: Decimal(r) for c, r in team.rates.items()}, team.currency: Decimal(1)}


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def by_source(
    created: Mapping[str | None, int], rows: Iterable[SourceRow], team: TeamOut
) -> list[SourceStats]:
    """Per source: the team's list, then sources no longer listed, then `none`."""
    rates = team_rates(team)
    won: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    amount: dict[str, Decimal] = defaultdict(Decimal)
    seconds: dict[str, float] = defaultdict(float)
    for row in rows:
        key = row.source or NONE
        if row.status == "won":
            won[key] += row.deals
            seconds[key] += row.win_seconds or 0.0
            amount[key] += _convert(row.cents, row.currency, rates) or Decimal(0)
        else:
            lost[key] += row.deals
    counts = {(k or NONE): n for k, n in created.items()}
    leftover = sorted((set(counts) | set(won) | set(lost)) - set(team.sources) - {NONE})
    return [
        SourceStats(
            source=key,
            created=counts.get(key, 0),
            won_count=won[key],
            lost_count=lost[key],
            win_rate=_ratio(won[key], won[key] + lost[key]),
            won_amount=_money(amount[key]),
            avg_days_to_win=round(seconds[key] / won[key] / DAY, 2) if won[key] else None,
        )
        for key in [*team.sources, *leftover, NONE]
    ]


def lost_reasons(rows: Iterable[LossRow], team: TeamOut) -> list[ReasonStats]:
    """Losses per reason (`none`: no reason given), most first, then by key."""
    rates = team_rates(team)
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    stages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = row.reason or NONE
        counts[key] += row.deals
        amounts[key] += _convert(row.cents, row.currency, rates) or Decimal(0)
        stages[key][row.stage] += row.deals
    order = sorted(counts, key=lambda k: (-counts[k], k))
    return [
        ReasonStats(
            reason=key,
            count=counts[key],
            amount=_money(amounts[key]),
            by_stage=dict(sorted(stages[key].items())),
        )
        for key in order
    ]


def current_targets(targets: Sequence[TargetOut], tz: str, as_of: datetime) -> list[TargetOut]:
    """The targets whose period holds `as_of`'s day in the team's time zone."""
    day = today_in(tz, as_of)
    return [t for t in targets if parse_period(t.period).contains(day)]


def target_stats(
    target: TargetOut,
    team: TeamOut,
    as_of: datetime,
    won_rows: Sequence[OwnerRow],
    open_rows: Sequence[OwnerRow],
) -> TargetStats:
    """Attainment, pace and forecast of one target at `as_of`."""
    rates = team_rates(team)
    probability = {s.key: s.probability for s in team.stages}

    def mine(row: OwnerRow) -> bool:
        return target.owner is None or row.owner == target.owner

    won = sum(
        (_convert(r.cents, r.currency, rates) or Decimal(0) for r in won_rows if mine(r)),
        Decimal(0),
    )
    weighted = sum(
        (
            (_convert(r.cents, r.currency, rates) or Decimal(0)) * probability.get(r.stage, 0) / 100
            for r in open_rows
            if mine(r)
        ),
        Decimal(0),
    )
    start, end = parse_period(target.period).bounds(team.timezone)
    elapsed = (as_of - start).total_seconds() / (end - start).total_seconds()
    expected = target.amount * Decimal(str(min(max(elapsed, 0.0), 1.0)))
    forecast = _money(won) + _money(weighted)
    return TargetStats(
        owner=target.owner,
        period=target.period,
        amount=_money(target.amount),
        won=_money(won),
        attainment=round(float(won / target.amount), 4),
        expected_by_now=_money(expected),
        open_weighted=_money(weighted),
        forecast=forecast,
        gap=_money(target.amount) - forecast,
    )


def targets(source: PlanningSource, team: TeamOut, as_of: datetime) -> list[TargetStats]:
    """Every target whose period holds `as_of`, in the team's order (team first)."""
    result = []
    rows: dict[str, tuple[list[OwnerRow], list[OwnerRow]]] = {}
    for target in current_targets(team.targets, team.timezone, as_of):
        period = parse_period(target.period)
        if target.period not in rows:
            start, end = period.bounds(team.timezone)
            won = source.won_by_owner(start, min(end, _after(as_of)))
            opened = source.open_by_owner(as_of, period.first, period.last)
            rows[target.period] = (won, opened)
        won_rows, open_rows = rows[target.period]
        result.append(target_stats(target, team, as_of, won_rows, open_rows))
    return result


def _after(moment: datetime) -> datetime:
    """The end of a window that includes `moment` itself (`closed_at <= as_of`)."""
    return moment + timedelta(microseconds=1)


def measure(
    source: PlanningSource, team: TeamOut, as_of: datetime, start: datetime, end: datetime
) -> Planning:
    """The planning keys of the metrics for the window [start, end) at `as_of`."""
    return Planning(
        by_source=by_source(
            source.created_by_source(start, end), source.cohort_by_source(start, end), team
        ),
        lost_reasons=lost_reasons(source.losses(start, end), team),
        targets=targets(source, team, as_of),
    )


def render_planning(planning: Planning, currency: str) -> list[str]:
    """The planning keys as plain-text report lines (for `pipebot stats`)."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.0f}%"

    lines = [
        "",
        f"{'Source':<20}{'Created':>8}{'Won':>6}{'Lost':>6}{'Win':>6}{'Won amt':>16}{'Days':>8}",
    ]
    for s in planning.by_source:
        days = "—" if s.avg_days_to_win is None else f"{s.avg_days_to_win:.1f}"
        lines.append(
            f"{s.source[:19]:<20}{s.created:>8}{s.won_count:>6}{s.lost_count:>6}"
            f"{pct(s.win_rate):>6}{s.won_amount:>16,}{days:>8}"
        )
    lines += ["", f"{'Lost reason':<20}{'Lost':>6}{'Amount':>16}  By stage"]
    for r in planning.lost_reasons:
        stages = ", ".join(f"{k} {n}" for k, n in r.by_stage.items())
        lines.append(f"{r.reason[:19]:<20}{r.count:>6}{r.amount:>16,}  {stages}")
    if not planning.lost_reasons:
        lines.append("none")
    lines += ["", f"Targets (in {currency})"]
    for t in planning.targets:
        lines.append(
            f"{t.owner or 'team'} {t.period}: won {t.won:,} of {t.amount:,} "
            f"({pct(t.attainment)}), expected by now {t.expected_by_now:,}, "
            f"open weighted {t.open_weighted:,}, forecast {t.forecast:,}, gap {t.gap:,}"
        )
    if not planning.targets:
        lines.append("none for the period holding as_of")
    return lines
