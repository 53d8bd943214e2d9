"""Forecast accuracy: what each weekly digest forecast for its month and quarter, and, once
a period has ended, how the forecast made at its start compares with what was won.

Periods are calendar months (`2026-11`) and quarters (`2026-Q4`) in the team's time zone:
each digest records both current ones (`Snapshot`, one per team, period and digest week, so
a retried digest records nothing new). A period has ended once its last local day is over.
Its forecast is the one recorded first in it: at, or the nearest after, its start. The actual
is the won revenue of deals closed won in the period (as they stand now, priced deals only,
in the reporting currency); a record made in another reporting currency is not compared.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from pipeline.dates import end_of_month, end_of_quarter, today_in
from pipeline.forecast import Forecast, Period, utc_midnight
from pipeline.forecast_range import ForecastRanges, period_label
from pipeline.metrics import Rates, aware, money
from pipeline.schemas import TeamOut

LAST = 4  # ended periods `stats --json` lists
_PERIOD = re.compile(r"(?P<year>[0-9]{4})-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2]))")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Snapshot(_Model):
    """The forecasts of one period as one digest made them, in the reporting currency."""

    period: str
    start: date
    end: date
    digest: str
    recorded_at: datetime
    currency: str
    won: Decimal
    forecast: Decimal
    calibrated: Decimal
    p10: Decimal
    p50: Decimal
    p90: Decimal

    @property
    def kind(self) -> Period:
        """A month or a quarter, by its label."""
        return "quarter" if "-Q" in self.period else "month"


class WonSum(NamedTuple):
    """Deals won in a window in one currency: how many, how many priced, summed cents."""

    currency: str
    deals: int
    priced: int
    cents: int | None


class PeriodAccuracy(_Model):
    """An ended period: its first recorded forecasts beside the revenue actually won."""

    period: str
    kind: Period
    start: date
    end: date
    recorded_at: datetime
    recorded_on: date
    currency: str
    won_then: Decimal
    forecast: Decimal
    calibrated: Decimal
    p10: Decimal
    p90: Decimal
    actual: Decimal
    actual_unpriced: int

    @property
    def error(self) -> float | None:
        """How far the result fell from the forecast: (actual − forecast) ÷ forecast."""
        return _error(self.actual, self.forecast)

    @property
    def calibrated_error(self) -> float | None:
        """The same for the calibrated forecast."""
        return _error(self.actual, self.calibrated)

    def to_json(self) -> dict[str, Any]:
        """One entry of the public `forecast_accuracy` list of `stats --json`."""
        return {
            "period": self.period,
            "recorded_at": self.recorded_at.isoformat(),
            "forecast": str(self.forecast),
            "calibrated": str(self.calibrated),
            "p10": str(self.p10),
            "p90": str(self.p90),
            "actual": str(self.actual),
        }


class AccuracySource(Protocol):
    """The accuracy queries over one team's records and deals (storage implements it)."""

    @property
    def team(self) -> TeamOut:
        """The team's settings: time zone, currency, stages and rates."""
        ...

    def first_snapshots(self, ended_before: date, currency: str, limit: int) -> list[Snapshot]:
        """The first record of each period ended before `ended_before` in `currency`, the
        latest period end first (a quarter before its last month), at most `limit`."""
        ...

    def won_between(self, start: datetime, end: datetime) -> list[WonSum]:
        """Deals now won whose `closed_at` is in [start, end), per currency."""
        ...


def _error(actual: Decimal, forecast: Decimal) -> float | None:
    return None if forecast == 0 else round(float((actual - forecast) / forecast), 4)


def snapshots(
    fc: Forecast, ranges: ForecastRanges, *, digest: str, recorded_at: datetime
) -> list[Snapshot]:
    """What a digest records: this month's and this quarter's forecasts and ranges."""
    result = []
    for p, r in ((fc.month, ranges.month), (fc.quarter, ranges.quarter)):
        result.append(
            Snapshot(
                period=period_label(p.period, p.start),
                start=p.start,
                end=p.end,
                digest=digest,
                recorded_at=aware(recorded_at, "recorded_at"),
                currency=fc.currency,
                won=p.won,
                forecast=p.forecast_configured,
                calibrated=p.forecast_calibrated,
                p10=r.p10,
                p50=r.p50,
                p90=r.p90,
            )
        )
    return result


def accuracy(source: AccuracySource, *, as_of: datetime, limit: int = LAST) -> list[PeriodAccuracy]:
    """The last `limit` ended periods with a recorded forecast, latest first."""
    team = source.team
    zone = ZoneInfo(team.timezone)
    today = today_in(zone, aware(as_of, "as_of"))
    rates = Rates.of(team)
    result = []
    for snap in source.first_snapshots(today, team.currency, limit):
        start = utc_midnight(snap.start, zone)
        end = utc_midnight(snap.end + timedelta(days=1), zone)
        actual, unpriced = Decimal(0), 0
        for currency, n, priced, cents in source.won_between(start, end):
            converted = rates.convert(int(cents or 0), currency)
            if converted is None:
                unpriced += n
            else:
                actual += converted
                unpriced += n - priced
        result.append(
            PeriodAccuracy(
                period=snap.period,
                kind=snap.kind,
                start=snap.start,
                end=snap.end,
                recorded_at=snap.recorded_at,
                recorded_on=today_in(zone, snap.recorded_at),
                currency=snap.currency,
                won_then=snap.won,
                forecast=snap.forecast,
                calibrated=snap.calibrated,
                p10=snap.p10,
                p90=snap.p90,
                actual=money(actual),
                actual_unpriced=unpriced,
            )
        )
    return result


def ended_since(rows: list[PeriodAccuracy], start: datetime, timezone: str) -> list[PeriodAccuracy]:
    """The periods whose last day ended after `start` (the digest's week)."""
    zone = ZoneInfo(timezone)
    return [a for a in rows if utc_midnight(a.end + timedelta(days=1), zone) > start]


def render_accuracy(rows: list[PeriodAccuracy]) -> list[str]:
    """The accuracy list as plain text lines, for `pipebot stats`."""
    if not rows:
        return ["Forecast accuracy: no ended period with a recorded forecast yet"]
    lines = ["Forecast accuracy (forecast recorded at the period's start vs won):"]
    for a in rows:
        lines.append(
            f"  {a.period}: forecast {a.forecast:,} on {a.recorded_on}, calibrated "
            f"{a.calibrated:,}, P10–P90 {a.p10:,}–{a.p90:,}; actual {a.actual:,} {a.currency} "
            f"({_pct(a.error)} vs forecast, {_pct(a.calibrated_error)} vs calibrated)"
        )
    return lines


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.0f}%".replace("-", "−")


def period_bounds(label: str) -> tuple[date, date] | None:
    """The first and last day of `2026-Q4` or `2026-11`; None for anything else."""
    match = _PERIOD.fullmatch(label)
    if match is None:
        return None
    year, quarter, month = int(match["year"]), match["quarter"], match["month"]
    first = date(year, 3 * int(quarter) - 2, 1) if quarter else date(year, int(month), 1)
    return first, end_of_quarter(first) if quarter else end_of_month(first)
