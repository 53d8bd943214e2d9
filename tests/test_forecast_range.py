"""The forecast range: its inputs on a hand-computed fixture, and the simulation's properties."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.accuracy import period_bounds
from pipeline.forecast import PeriodForecast, forecast
from pipeline.forecast_range import (
    RUNS,
    OpenAmountRow,
    PeriodRange,
    forecast_ranges,
    period_label,
    period_range,
    quarter_range,
    seed_for,
    simulate,
    stage_chances,
)
from pipeline.metrics import FunnelStep, Rates, compute
from pipeline.schemas import StageOut
from storage.db import Database
from storage.reports import reports_in
from tests.test_forecast import AS_OF, Builder, T, build_fixture, d, eur, run

ROOT = Path(__file__).resolve().parent.parent


def ranges_of(db: Database, team: str = T) -> tuple[PeriodRange, PeriodRange]:
    with db.read_scope() as s:
        source = reports_in(s, team)
        metrics = compute(source, as_of=AS_OF)
        fc = forecast(source, as_of=AS_OF, metrics=metrics)
        ranges = forecast_ranges(source, fc, metrics)
    return ranges.month, ranges.quarter


def test_range_inputs_match_hand_computed_values(db: Database) -> None:
    """Every stage has fewer than 20 closed deals: the configured probabilities are used.

    Month: Overdue (10,000 demo, 40 %) and Month end ($40,000 = 20,000, proposal 60 %);
    Pounds (no GBP rate) is left out; won 10,000. The runs are 0, 10,000, 20,000 or 30,000
    more with probabilities 0.24, 0.16, 0.36 and 0.24: P10 = 10,000, P50 = 30,000, P90 =
    40,000, and the mean is the configured forecast, 26,000.
    Quarter: adds Quarter end (50,000 lead, 10 %) and No amount (left out); won 20,000.
    """
    build_fixture(db)
    month, quarter = ranges_of(db)
    assert (month.period, month.kind, month.start, month.end) == (
        "2026-11",
        "month",
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert (month.deals, month.unpriced, month.open_amount) == (2, 1, Decimal("30000.00"))
    assert (month.won, month.expected, month.mean) == (
        Decimal("10000.00"),
        Decimal("26000.00"),
        Decimal("26000.00"),
    )
    assert (month.p10, month.p50, month.p90) == (
        Decimal("10000.00"),
        Decimal("30000.00"),
        Decimal("40000.00"),
    )
    assert month.runs == RUNS == 10_000

    assert quarter.period == "2026-Q4"
    assert (quarter.deals, quarter.unpriced, quarter.open_amount) == (3, 2, Decimal("80000.00"))
    # 20,000 won + 4,000 + 12,000 + 5,000: the configured forecast of the quarter.
    assert (quarter.won, quarter.expected, quarter.mean) == (
        Decimal("20000.00"),
        Decimal("41000.00"),
        Decimal("41000.00"),
    )
    # Nothing more (0.216) is under 10 %; 20,000 more is the median (cumulative 0.36 → 0.684).
    assert (quarter.p10, quarter.p50) == (Decimal("20000.00"), Decimal("40000.00"))
    # Up to 30,000 more holds exactly 90 % in theory: P90 lies between 50,000 and 70,000.
    assert Decimal("50000.00") <= quarter.p90 <= Decimal("70000.00")
    # Each quarter run adds the rest of the quarter to the month's run: never less.
    assert month.p10 <= quarter.p10
    assert month.p50 <= quarter.p50
    assert month.p90 <= quarter.p90
    f = run(db)
    assert (quarter.won, month.won) == (f.quarter.won, f.month.won)
    assert quarter.expected == f.quarter.forecast_configured


def test_stats_range_is_the_digest_s_quarter_and_is_reproducible(db: Database) -> None:
    build_fixture(db)
    _, quarter = ranges_of(db)
    with db.read_scope() as s:
        source = reports_in(s, T)
        first = quarter_range(source, as_of=AS_OF)
        again = quarter_range(source, as_of=AS_OF, metrics=compute(source, as_of=AS_OF))
        # Another window's metrics are not the calibration: the 90 days before as_of are.
        other = compute(source, as_of=AS_OF, start=d(1, 1))
        assert quarter_range(source, as_of=AS_OF, metrics=other) == first
    assert first == again == quarter
    assert first.to_json() == {
        "period": "2026-Q4",
        "p10": "20000.00",
        "p50": "40000.00",
        "p90": str(first.p90),
        "mean": "41000.00",
        "runs": 10_000,
    }


def test_a_stage_with_20_closed_deals_uses_its_calibrated_rate(db: Database) -> None:
    """20 deals closed from lead (5 won): lead's rate is 0.25; other stages fall back."""
    b = Builder(db, T)
    b.setup()
    for i in range(20):
        b(d(10, 1), lambda p, i=i: p.create(f"Closed {i}", actor="U0REP", amount=eur(1_000)))
        if i < 5:
            b(d(10, 20), lambda p, i=i: p.win(f"Closed {i}", actor="U0REP"))
        else:
            b(d(10, 20), lambda p, i=i: p.lose(f"Closed {i}", "no budget", actor="U0REP"))
    b(
        d(11, 2),
        lambda p: p.create("Open", actor="U0REP", amount=eur(40_000), close_date=date(2026, 12, 1)),
    )
    with db.read_scope() as s:
        source = reports_in(s, T)
        chances = stage_chances(source.team.stages, compute(source, as_of=AS_OF).funnel)
        quarter = quarter_range(source, as_of=AS_OF)
    assert [(c.stage, c.probability, c.calibrated, c.reached) for c in chances] == [
        ("lead", 0.25, True, 20),
        ("qualified", 0.25, False, 5),
        ("demo", 0.4, False, 5),
        ("proposal", 0.6, False, 5),
        ("negotiation", 0.8, False, 5),
    ]
    # Won 5,000 in October; 40,000 × 0.25 (the configured 10 % would give 4,000).
    assert (quarter.won, quarter.mean) == (Decimal("5000.00"), Decimal("15000.00"))
    assert (quarter.p10, quarter.p90) == (Decimal("5000.00"), Decimal("45000.00"))


def test_stage_chances_trust_a_measured_rate_from_20_deals() -> None:
    stages = [
        StageOut(key=k, name=k, position=i, probability=30, stale_days=7)
        for i, k in enumerate(("a", "b", "c"))
    ]

    def step(key: str, reached: int, rate: float) -> FunnelStep:
        return FunnelStep(
            stage=key,
            name=key,
            reached=reached,
            lost_at=0,
            loss_rate=0.0,
            conversion_rate=1.0,
            win_rate_from=rate,
        )

    funnel = [step("a", 20, 0.55), step("b", 19, 0.9)]
    chances = stage_chances(stages, funnel)
    assert [(c.probability, c.calibrated, c.reached) for c in chances] == [
        (0.55, True, 20),
        (0.3, False, 19),
        (0.3, False, 0),
    ]


def test_seed_is_stable_across_processes_and_differs_by_team_day_and_period() -> None:
    day = date(2026, 11, 27)
    # Pinned: a different seed for the same team and day would change a posted digest's range.
    assert seed_for("T0DEMO", day, "quarter") == 17548406812862708830
    assert (
        len(
            {
                seed_for("T0DEMO", day, "quarter"),
                seed_for("T0DEMO", day, "month"),
                seed_for("T0DEMX", day, "quarter"),
                seed_for("T0DEMO", date(2026, 11, 28), "quarter"),
            }
        )
        == 4
    )
    code = (
        "from datetime import date; from pipeline.forecast_range import seed_for, simulate; "
        "s = seed_for('T0DEMO', date(2026, 11, 27), 'quarter'); "
        "print(s, simulate([1000, 2500, 7000], [0.3, 0.5, 0.25], seed=s).tobytes().hex()[:64])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for salt in ("1", "2")
    }
    assert len(outputs) == 1


# --- properties --------------------------------------------------------------------------

# Probabilities as the forecast has them: whole percents and rates rounded to 4 decimals.
probability = st.integers(0, 10_000).map(lambda k: k / 10_000)
amount = st.integers(0, 10**11)  # cents: up to a billion
deals = st.lists(st.tuples(amount, probability, st.booleans()), max_size=40)


def _period(won: int) -> PeriodForecast:
    zero = Decimal(0)
    return PeriodForecast(
        period="quarter",
        start=date(2027, 1, 1),
        end=date(2027, 3, 31),
        won_count=1,
        won=Decimal(won).scaleb(-2),
        open_count=0,
        overdue_count=0,
        open_amount=zero,
        weighted_configured=zero,
        weighted_calibrated=zero,
        forecast_configured=zero,
        forecast_calibrated=zero,
        unpriced=0,
        fallback_stages=[],
    )


@settings(max_examples=60, deadline=None)
@given(deals=deals, won=st.integers(0, 10**12), seed=st.integers(0, 2**64 - 1))
def test_range_properties(deals: list[tuple[int, float, bool]], won: int, seed: int) -> None:
    """mean = won + Σ amount × p within 1 %; won ≤ P10 ≤ P50 ≤ P90 ≤ won + Σ open; same seed,
    same range. Half the deals are in dollars at 0.92, each as its own stage."""
    rates = Rates("EUR", {"USD": Decimal("0.92")})
    rows = [
        OpenAmountRow(f"s{i}", "USD" if usd else "EUR", cents, date(2027, 2, 1))
        for i, (cents, _, usd) in enumerate(deals)
    ]
    chances = {f"s{i}": p for i, (_, p, _) in enumerate(deals)}
    r = period_range(rows, _period(won), chances=chances, rates=rates, seed=seed)
    converted = [Decimal(c) * (Decimal("0.92") if usd else 1) for c, _, usd in deals]
    cents = [int(x.quantize(Decimal(1), rounding="ROUND_HALF_UP")) for x in converted]
    weighted = (Decimal(c) * Decimal(str(p)) for c, (_, p, _) in zip(cents, deals, strict=True))
    expected = (Decimal(won) + sum(weighted, Decimal(0))) / 100
    ceiling = Decimal(won + sum(cents)) / 100
    floor = Decimal(won) / 100
    assert abs(r.mean - expected) <= Decimal("0.01") * expected + Decimal("0.01")
    assert floor <= r.p10 <= r.p50 <= r.p90 <= ceiling
    assert r.expected == expected.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert period_range(rows, _period(won), chances=chances, rates=rates, seed=seed) == r


@settings(max_examples=40, deadline=None)
@given(
    deals=st.lists(st.tuples(amount, st.floats(0, 1, allow_nan=False)), min_size=1, max_size=30),
    seed=st.integers(0, 2**64 - 1),
)
def test_any_probability_keeps_the_mean_within_one_run_per_deal(
    deals: list[tuple[int, float]], seed: int
) -> None:
    """Each deal wins in ⌊p × runs⌋ or ⌊p × runs⌋ + 1 runs: the mean is off by under a run's
    amount per deal, and each run is one of the 2^n sums of the deals."""
    cents = [c for c, _ in deals]
    probabilities = [p for _, p in deals]
    totals = simulate(cents, probabilities, seed=seed)
    expected = sum(c * p for c, p in deals)
    assert abs(totals.mean() - expected) <= sum(cents) / RUNS + 1e-6 * max(1.0, expected)
    assert totals.min() >= 0
    assert totals.max() <= sum(cents)
    assert np.array_equal(totals, simulate(cents, probabilities, seed=seed))


@settings(max_examples=15, deadline=None)
@given(
    deals=st.lists(st.tuples(amount, st.floats(0, 1, allow_nan=False)), min_size=65, max_size=400),
    seed=st.integers(0, 2**64 - 1),
    threads=st.integers(2, 6),
)
def test_the_deals_played_on_several_threads_give_one_threads_totals(
    deals: list[tuple[int, float]], seed: int, threads: int
) -> None:
    """Splitting the deals between threads changes no run's total (more than one step each)."""
    cents = [c for c, _ in deals]
    probabilities = [p for _, p in deals]
    alone = simulate(cents, probabilities, seed=seed, threads=1)
    assert np.array_equal(simulate(cents, probabilities, seed=seed, threads=threads), alone)
    assert alone.max() <= sum(cents)


def test_each_deal_wins_in_exactly_its_share_of_runs_and_independently() -> None:
    """Two deals at 50 %: each wins in 5,000 runs; both together in about a quarter."""
    totals = simulate([1, 2], [0.5, 0.5], seed=7)
    first = np.isin(totals, [1, 3]).sum()
    second = np.isin(totals, [2, 3]).sum()
    both = (totals == 3).sum()
    assert (first, second) == (5_000, 5_000)
    assert 2_300 < both < 2_700  # 2,500 expected; sd 43


def test_no_deal_gives_the_won_amount_in_every_run() -> None:
    r = period_range([], _period(123_45), chances={}, rates=Rates("EUR", {}), seed=1)
    assert (r.p10, r.p50, r.p90, r.mean, r.deals) == (Decimal("123.45"),) * 4 + (0,)


@pytest.mark.parametrize("kind", ["month", "quarter"])
def test_period_label(kind: str) -> None:
    label = period_label(kind, date(2027, 1, 1))  # type: ignore[arg-type]
    assert label == {"month": "2027-01", "quarter": "2027-Q1"}[kind]
    assert period_bounds(label) == (
        date(2027, 1, 1),
        {"month": date(2027, 1, 31), "quarter": date(2027, 3, 31)}[kind],
    )
