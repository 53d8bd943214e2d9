"""The forecast range: a Monte Carlo simulation of how much the period's open deals bring in.

Each open deal whose expected close date falls in the period (an overdue one counts in the
current period, as in the point forecast) wins with its stage's calibrated win rate, or with
the stage's configured probability where fewer than `MIN_REACHED` closed deals of the
calibration window reached the stage. `RUNS` runs give P10, P50 and P90 of the period's won
revenue: what is already won plus the simulated wins.

The simulation is seeded by the team and its local date, so the same day gives the same
range (a digest is reproducible). The month's and the quarter's ranges come from one pass:
the month's deals are played once and each quarter run adds the rest of the quarter's deals
to the month's run of the same number. It is stratified per deal (Latin hypercube): a deal with
probability p wins in exactly ⌊p × runs⌋ runs, or one more with the probability of the
fractional part, spread at random over the runs. Each deal still wins each run with
probability p independently of the others, but the mean of the runs is exact, up to one
run's amount per deal (exact when p × runs is whole, as it is for a configured percentage
or a calibrated rate rounded to 4 decimals with 10,000 runs): plain sampling would be off by
several percent on a small pipeline.

Amounts are simulated in integer cents of the reporting currency (float64 holds them exactly),
so the range never leaves [won, won + Σ open amounts]. Deals without an amount or whose
currency has no rate are left out and counted, as the point forecast does.

numpy is imported inside the functions, once there are deals to simulate: only stats and the
digest need it, and a period without open deals is its won amount in every run.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from pipeline.forecast import Forecast, ForecastSource, Period, PeriodForecast, forecast
from pipeline.metrics import CENT, DEFAULT_WINDOW, FunnelStep, Metrics, Rates, compute
from pipeline.schemas import StageOut, TeamOut

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

RUNS = 10_000
MIN_REACHED = 20  # closed deals reaching a stage before its measured win rate is trusted
POOL = 64  # random permutations the deals' run orders are drawn from
CHUNK = 16  # deals per step: 8,310 deals in 38 ms on two threads, 45 ms at 64 (docs/PERFORMANCE.md)
MAX_THREADS = 4  # the steps are bound by memory, so a big server need not start dozens
_AFFINITY = hasattr(os, "sched_getaffinity")  # Linux: the cores this process may run on


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageChance(_Model):
    """The win probability the simulation gives a stage's deals, and where it comes from."""

    stage: str
    name: str
    probability: float
    calibrated: bool
    reached: int


class PeriodRange(_Model):
    """The simulated won revenue of one period, in the reporting currency."""

    period: str
    kind: Period
    start: date
    end: date
    won: Decimal
    deals: int
    open_amount: Decimal
    expected: Decimal
    unpriced: int
    p10: Decimal
    p50: Decimal
    p90: Decimal
    mean: Decimal
    runs: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        """The public `forecast_range` object of `stats --json`."""
        return {
            "period": self.period,
            "p10": str(self.p10),
            "p50": str(self.p50),
            "p90": str(self.p90),
            "mean": str(self.mean),
            "runs": self.runs,
        }


class ForecastRanges(_Model):
    """This month's and this quarter's ranges, and the probabilities behind them."""

    currency: str
    month: PeriodRange
    quarter: PeriodRange
    chances: list[StageChance]


class OpenAmountRow(NamedTuple):
    """One open deal with a close date: its stage, currency, amount (cents) and close date."""

    stage: str
    currency: str
    cents: int | None
    close_date: date


class RangeSource(Protocol):
    """The range's query over one team's deals (storage implements it)."""

    @property
    def team(self) -> TeamOut:
        """The team's settings: time zone, currency, stages and rates."""
        ...

    def open_amounts(self, last_day: date) -> list[OpenAmountRow]:
        """Open deals with a close date up to `last_day`, one row each, by deal number."""
        ...


def period_label(kind: Period, start: date) -> str:
    """`2026-Q4` for a quarter, `2026-11` for a month."""
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def seed_for(team_id: str, day: date, kind: Period) -> int:
    """A stable seed from the team, its local date and the period (not Python's salted hash)."""
    digest = hashlib.sha256(f"{team_id}|{day.isoformat()}|{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stage_chances(stages: Sequence[StageOut], funnel: Sequence[FunnelStep]) -> list[StageChance]:
    """Each stage's calibrated win rate when `MIN_REACHED` closed deals back it, else its
    configured probability."""
    steps = {step.stage: step for step in funnel}
    chances = []
    for s in stages:
        step = steps.get(s.key)
        reached = step.reached if step else 0
        measured = step.win_rate_from if step else None
        trusted = measured is not None and reached >= MIN_REACHED
        chances.append(
            StageChance(
                stage=s.key,
                name=s.name,
                probability=measured if trusted and measured is not None else s.probability / 100,
                calibrated=trusted,
                reached=reached,
            )
        )
    return chances


def simulate(
    cents: Sequence[int],
    probabilities: Sequence[float],
    *,
    runs: int = RUNS,
    seed: int,
    threads: int | None = None,
) -> NDArray[np.float64]:
    """Each run's total of the deals that won (cents), stratified per deal (module docstring).

    The deals are played in `threads` parts at once (default: the cores this process may use,
    at most `MAX_THREADS`); the totals are the same for any number of parts.
    """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(seed)
    n = len(cents)
    if n == 0:
        return np.zeros(runs)
    amounts = np.asarray(cents, dtype=np.float64)
    # Rounded so that a whole p × runs (0.07 × 10,000) is not 700.0000000000001.
    scaled = np.round(np.asarray(probabilities, dtype=np.float64) * runs, 6)
    wins = np.floor(scaled + rng.random(n)).astype(np.int64)
    # A deal's winning runs are the first `wins` ranks of a run order drawn from a pool of
    # random permutations at a random rotation; no two deals share pool and rotation.
    pool = max(POOL, 2 * -(-n // runs))
    rank = np.min_scalar_type(runs)
    perms = np.stack([rng.permutation(runs).astype(rank) for _ in range(pool)])
    orders = sliding_window_view(np.concatenate([perms, perms], axis=1), runs, axis=1)
    which, rotation = np.divmod(rng.choice(pool * runs, size=n, replace=False), runs)
    thresholds = wins.astype(rank)

    def play(first: int, last: int, totals: NDArray[np.float64]) -> None:
        # Each step's wins are written as 0.0 / 1.0 straight into one reused matrix: half the
        # time of comparing into booleans that the product then converts (docs/PERFORMANCE.md).
        won = np.empty((min(CHUNK, last - first), runs))
        for start in range(first, last, CHUNK):
            part, rows = slice(start, min(start + CHUNK, last)), won[: min(CHUNK, last - start)]
            ranks = orders[which[part], rotation[part]]
            np.less(ranks, thresholds[part, None], out=rows, casting="unsafe")
            totals += amounts[part] @ rows

    parts = _parts(n, threads)
    totals = np.zeros((len(parts), runs))
    if n <= CHUNK:
        # A single step is one small product, not worth the 6 ms of finding the BLAS library.
        play(0, n, totals[0])
    else:
        _in_threads(play, parts, totals)
    # Whole cents add up exactly in float64 in any order: any split gives the same totals.
    result: NDArray[np.float64] = totals.sum(axis=0)
    return result


def _parts(n: int, threads: int | None) -> list[tuple[int, int]]:
    """[first, last) of each thread's share of `n` deals, in whole steps of `CHUNK` deals."""
    if threads is None:
        threads = min(
            MAX_THREADS, len(os.sched_getaffinity(0)) if _AFFINITY else os.cpu_count() or 1
        )
    steps = -(-n // CHUNK)
    threads = max(1, min(threads, steps))
    bounds = [min(n, (steps * k // threads) * CHUNK) for k in range(threads + 1)]
    return list(itertools.pairwise(bounds))


def _in_threads(
    play: Callable[[int, int, NDArray[np.float64]], None],
    parts: Sequence[tuple[int, int]],
    totals: NDArray[np.float64],
) -> None:
    """Play each part on a thread of its own, each into its own row of `totals`."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    # One BLAS thread each: these products are bound by memory, not arithmetic, and OpenBLAS's
    # own threads spin for their share, 3x slower when another core is busy; numpy lets go of
    # the GIL in the comparisons and products, so plain threads share the work without
    # spinning (docs/PERFORMANCE.md).
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(len(parts)) as pool:
        shares = [
            pool.submit(play, first, last, row)
            for (first, last), row in zip(parts, totals, strict=True)
        ]
        for share in shares:
            share.result()  # a helper's error is raised here, not lost


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money(cents: float) -> Decimal:
    return (Decimal(round(cents)) / 100).quantize(CENT)


@dataclass(frozen=True)
class _Deals:
    """The priced deals one simulation plays: amounts in reporting cents and probabilities."""

    cents: list[int]
    probabilities: list[float]
    unpriced: int

    def play(self, seed: int, runs: int) -> NDArray[np.float64] | None:
        """Each run's won cents; None when there is no deal to play (every run adds 0)."""
        if not self.cents:
            return None
        return simulate(self.cents, self.probabilities, runs=runs, seed=seed)


def _priced(
    rows: Sequence[OpenAmountRow],
    chances: Mapping[str, float],
    rates: Rates,
    *,
    after: date | None,
    last: date,
) -> _Deals:
    """The deals closing in (after, last]; those without an amount or rate only counted."""
    cents: list[int] = []
    probabilities: list[float] = []
    unpriced = 0
    for stage, currency, amount, close in rows:
        if close > last or (after is not None and close <= after):
            continue
        if amount is None:
            unpriced += 1
            continue
        # Only another currency is converted: a Decimal product per deal was two thirds of
        # this loop's time on a large pipeline (docs/PERFORMANCE.md).
        if currency != rates.currency:
            converted = rates.convert(amount, currency)
            if converted is None:
                unpriced += 1
                continue
            amount = _cents(converted)
        cents.append(amount)
        # A stage since removed weighs 0, as in the point forecast.
        probabilities.append(chances.get(stage, 0.0))
    return _Deals(cents, probabilities, unpriced)


def _summary(
    p: PeriodForecast,
    parts: Sequence[tuple[_Deals, NDArray[np.float64] | None]],
    *,
    seed: int,
    runs: int,
) -> PeriodRange:
    """The period's range from its simulated parts (each run adds them up) and its won amount."""
    won = _cents(p.won)
    played = [runs_of for _, runs_of in parts if runs_of is not None]
    if played:
        import numpy as np

        totals = sum(played[1:], played[0]) + won
        p10, p50, p90 = np.percentile(totals, [10, 50, 90])
        mean = float(totals.mean())
    else:
        # Nothing to simulate: every run is the won amount, and numpy need not even load.
        p10 = p50 = p90 = mean = float(won)
    cents = [c for deals, _ in parts for c in deals.cents]
    chances = [x for deals, _ in parts for x in deals.probabilities]
    # Summed per probability first (a few stages): the same exact Decimal, 20,000 fewer products.
    by_chance: dict[float, int] = {}
    for c, x in zip(cents, chances, strict=True):
        by_chance[x] = by_chance.get(x, 0) + c
    expected = sum((Decimal(c) * Decimal(str(x)) for x, c in by_chance.items()), Decimal(0))
    return PeriodRange(
        period=period_label(p.period, p.start),
        kind=p.period,
        start=p.start,
        end=p.end,
        won=p.won,
        deals=len(cents),
        open_amount=_money(sum(cents)),
        expected=((won + expected) / 100).quantize(CENT, rounding=ROUND_HALF_UP),
        unpriced=sum(deals.unpriced for deals, _ in parts),
        p10=_money(p10),
        p50=_money(p50),
        p90=_money(p90),
        mean=_money(mean),
        runs=runs,
        seed=seed,
    )


def period_range(
    rows: Sequence[OpenAmountRow],
    p: PeriodForecast,
    *,
    chances: Mapping[str, float],
    rates: Rates,
    seed: int,
    runs: int = RUNS,
) -> PeriodRange:
    """The range of one period from the open deals closing by its end and its won amount."""
    deals = _priced(rows, chances, rates, after=None, last=p.end)
    return _summary(p, [(deals, deals.play(seed, runs))], seed=seed, runs=runs)


def _ranges(
    team: TeamOut, rows: Sequence[OpenAmountRow], fc: Forecast, chances: Sequence[StageChance]
) -> tuple[PeriodRange, PeriodRange]:
    """The month's and the quarter's ranges in one pass over the quarter's deals.

    The month's deals are played with the month's seed, the rest of the quarter's with the
    quarter's; each quarter run adds the month's run of the same number, so each deal is
    simulated once and a run's month never exceeds its quarter.
    """
    by_stage = {c.stage: c.probability for c in chances}
    rates = Rates.of(team)
    m_seed = seed_for(team.id, fc.today, "month")
    q_seed = seed_for(team.id, fc.today, "quarter")
    month = _priced(rows, by_stage, rates, after=None, last=fc.month.end)
    later = _priced(rows, by_stage, rates, after=fc.month.end, last=fc.quarter.end)
    month_runs = (month, month.play(m_seed, RUNS))
    later_runs = (later, later.play(q_seed, RUNS))
    return (
        _summary(fc.month, [month_runs], seed=m_seed, runs=RUNS),
        _summary(fc.quarter, [month_runs, later_runs], seed=q_seed, runs=RUNS),
    )


def forecast_ranges(source: RangeSource, fc: Forecast, metrics: Metrics) -> ForecastRanges:
    """This month's and quarter's ranges; `metrics` gives the calibration (the forecast's)."""
    team = source.team
    chances = stage_chances(team.stages, metrics.funnel)
    month, quarter = _ranges(team, source.open_amounts(fc.quarter.end), fc, chances)
    return ForecastRanges(currency=team.currency, month=month, quarter=quarter, chances=chances)


class QuarterSource(ForecastSource, RangeSource, Protocol):
    """What the quarter's range reads: the forecast's queries and the open deals' amounts."""


def quarter_range(
    source: QuarterSource, *, as_of: datetime, metrics: Metrics | None = None
) -> PeriodRange:
    """This quarter's range at `as_of`, calibrated as the digest's forecast is (the 90 days
    before `as_of`; `metrics` is reused when it covers that window): `stats`' range."""
    if metrics is None or (metrics.start, metrics.end) != (as_of - DEFAULT_WINDOW, as_of):
        metrics = compute(source, as_of=as_of)
    fc = forecast(source, as_of=as_of, metrics=metrics)
    return forecast_ranges(source, fc, metrics).quarter


def render_range(r: PeriodRange, currency: str) -> str:
    """The range as plain text lines, for `pipebot stats`."""
    return (
        f"Forecast range {r.period} ({r.start} to {r.end}, {r.runs:,} runs): "
        f"won {r.won:,} {currency}; P10 {r.p10:,} · P50 {r.p50:,} · P90 {r.p90:,} "
        f"(mean {r.mean:,}) over {r.deals:,} open deals"
        + (f"; {r.unpriced} without amount or rate left out" if r.unpriced else "")
    )
