"""The forecast against hand-computed values on a small fixture, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from pipeline.errors import NotFound
from pipeline.forecast import Forecast, forecast
from pipeline.metrics import compute
from pipeline.money import Money
from pipeline.service import PipelineService
from storage.db import Database
from storage.reports import reports_in
from storage.services import service_in
from tests.conftest import FrozenClock

T = "TFORECAST"
OTHER = "TOTHER"
U = "U0REP"
AS_OF = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a Friday; Paris is UTC+1


def eur(amount: int) -> Money:
    return Money(Decimal(amount), "EUR")


def usd(amount: int) -> Money:
    return Money(Decimal(amount), "USD")


class Builder:
    """Runs service operations for one team at given instants, one transaction each."""

    def __init__(self, db: Database, team: str) -> None:
        self.db = db
        self.team = team
        self.clock = FrozenClock(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))

    def __call__(self, at: datetime, fn: Callable[[PipelineService], object]) -> None:
        self.clock.now = at
        with self.db.session_scope() as s:
            fn(service_in(s, self.team, clock=self.clock))

    def setup(self) -> None:
        self(
            datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
            lambda p: (
                p.set_timezone("Europe/Paris"),
                p.set_currency("EUR"),
                p.set_rate("USD", Decimal("0.5")),
            ),
        )


def d(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def build_fixture(db: Database) -> None:
    """Closed deals calibrating the stages, open deals across the month, quarter and beyond.

    Calibration (closed in the 90 days before AS_OF): won W1, W2, W3; lost L1 at qualified,
    L2 at demo. Reached: lead 5, qualified 5, demo 4, proposal 3, negotiation 3, so
    win_rate_from = 0.6, 0.6, 0.75, 1.0, 1.0.
    """
    b = Builder(db, T)
    b.setup()
    # Won on 1 August: before the quarter and outside the calibration window.
    b(d(7, 10), lambda p: p.create("Old win", actor=U, amount=eur(5_000)))
    b(d(8, 1), lambda p: p.win("Old win", actor=U))
    # W1 is won at 00:30 on 1 November in Paris, still 31 October in UTC.
    b(d(10, 1), lambda p: p.create("Midnight", actor=U, amount=eur(10_000)))
    b(d(10, 10), lambda p: p.move("Midnight", "demo", actor=U))
    b(d(10, 31, 23, 30), lambda p: p.win("Midnight", actor=U))
    b(d(10, 2), lambda p: p.create("Dollar win", actor=U, amount=usd(20_000), stage="proposal"))
    b(d(10, 20), lambda p: p.win("Dollar win", actor=U))
    b(d(10, 3), lambda p: p.create("Unpriced win", actor=U))
    b(d(11, 10), lambda p: p.win("Unpriced win", actor=U))
    b(d(10, 4), lambda p: p.create("Lost early", actor=U, amount=eur(3_000)))
    b(d(10, 5), lambda p: p.move("Lost early", "qualified", actor=U))
    b(d(10, 15), lambda p: p.lose("Lost early", "no budget", actor=U))
    b(d(10, 5), lambda p: p.create("Lost in demo", actor=U, amount=eur(9_999), stage="demo"))
    b(d(11, 2), lambda p: p.lose("Lost in demo", "price", actor=U))

    def open_deal(name: str, amount: Money | None, stage: str, close: date | None) -> None:
        b(
            d(10, 6),
            lambda p: p.create(name, actor=U, amount=amount, stage=stage, close_date=close),
        )

    open_deal("Overdue", eur(10_000), "demo", date(2026, 10, 15))
    open_deal("Month end", usd(40_000), "proposal", date(2026, 11, 30))
    open_deal("Quarter end", eur(50_000), "lead", date(2026, 12, 31))
    open_deal("Pounds", Money(Decimal(7_000), "GBP"), "negotiation", date(2026, 11, 20))
    open_deal("No amount", None, "qualified", date(2026, 12, 1))
    open_deal("Undated", eur(30_000), "negotiation", None)
    open_deal("Next year", eur(100_000), "demo", date(2027, 1, 15))

    other = Builder(db, OTHER)
    other.setup()
    other(
        d(10, 6),
        lambda p: p.create("Huge", actor=U, amount=eur(1_000_000), close_date=date(2026, 11, 15)),
    )
    other(d(10, 7), lambda p: p.create("Big win", actor=U, amount=eur(500_000)))
    other(d(11, 5), lambda p: p.win("Big win", actor=U))


def run(db: Database, team: str = T, as_of: datetime = AS_OF) -> Forecast:
    with db.read_scope() as s:
        return forecast(reports_in(s, team), as_of=as_of)


def test_forecast_matches_hand_computed_values(db: Database) -> None:
    build_fixture(db)
    f = run(db)
    assert (f.currency, f.today) == ("EUR", date(2026, 11, 27))
    assert [(p.stage, p.configured, p.calibrated) for p in f.stages] == [
        ("lead", 10, 0.6),
        ("qualified", 25, 0.6),
        ("demo", 40, 0.75),
        ("proposal", 60, 1.0),
        ("negotiation", 80, 1.0),
    ]
    m = f.month
    assert (m.start, m.end) == (date(2026, 11, 1), date(2026, 11, 30))
    # Open: Overdue (10,000 demo, overdue), Month end ($40,000 = 20,000, proposal) and Pounds
    # (no GBP rate, overdue). Won: Midnight (10,000) and Unpriced win.
    assert (m.open_count, m.overdue_count, m.open_amount) == (3, 2, Decimal("30000.00"))
    assert m.weighted_configured == Decimal("16000.00")  # 10,000 x 40% + 20,000 x 60%
    assert m.weighted_calibrated == Decimal("27500.00")  # 10,000 x 0.75 + 20,000 x 1.0
    assert (m.won_count, m.won) == (2, Decimal("10000.00"))
    assert m.forecast_configured == Decimal("26000.00")
    assert m.forecast_calibrated == Decimal("37500.00")
    assert m.unpriced == 2  # Pounds, Unpriced win
    assert m.fallback_stages == []

    q = f.quarter
    assert (q.start, q.end) == (date(2026, 10, 1), date(2026, 12, 31))
    # Adds Quarter end (50,000 lead, on the last day) and No amount; Dollar win (10,000).
    assert (q.open_count, q.overdue_count, q.open_amount) == (5, 2, Decimal("80000.00"))
    assert q.weighted_configured == Decimal("21000.00")  # + 50,000 x 10%
    assert q.weighted_calibrated == Decimal("57500.00")  # + 50,000 x 0.6
    assert (q.won_count, q.won) == (3, Decimal("20000.00"))
    assert q.forecast_configured == Decimal("41000.00")
    assert q.forecast_calibrated == Decimal("77500.00")
    assert q.unpriced == 3  # Pounds, No amount, Unpriced win

    assert (f.undated_count, f.undated_amount, f.undated_unpriced) == (1, Decimal("30000.00"), 0)
    assert f.missing_rates == ["GBP"]


def test_forecast_periods_follow_the_team_time_zone_not_the_caller_s(db: Database) -> None:
    build_fixture(db)
    same = run(db, as_of=AS_OF.astimezone(timezone(timedelta(hours=-8))))
    assert same == run(db).model_copy(update={"as_of": same.as_of})
    # At 23:30 UTC on 31 October it is already November in Paris: Midnight is this month's.
    early = run(db, as_of=d(10, 31, 23, 45))
    assert (early.month.start, early.month.won_count, early.month.won) == (
        date(2026, 11, 1),
        1,
        Decimal("10000.00"),
    )


def test_forecast_reuses_given_metrics_and_refuses_another_team_s(db: Database) -> None:
    build_fixture(db)
    with db.read_scope() as s:
        team, other = reports_in(s, T), reports_in(s, OTHER)
        metrics = compute(team, as_of=AS_OF)
        assert forecast(team, as_of=AS_OF, metrics=metrics) == forecast(team, as_of=AS_OF)
        with pytest.raises(ValueError, match="TOTHER"):
            forecast(team, as_of=AS_OF, metrics=compute(other, as_of=AS_OF))
        with pytest.raises(NotFound):
            forecast(reports_in(s, "TNOBODY"), as_of=AS_OF)


def test_uncalibrated_stage_falls_back_to_its_configured_probability(db: Database) -> None:
    """No deal won in the window: reached stages calibrate to 0, unreached ones fall back."""
    b = Builder(db, T)
    b.setup()
    b(d(10, 1), lambda p: p.create("Lost", actor=U, amount=eur(1_000)))
    b(d(10, 2), lambda p: p.move("Lost", "qualified", actor=U))
    b(d(11, 1), lambda p: p.lose("Lost", "no budget", actor=U))
    b(d(11, 3), lambda p: p.create("In demo", actor=U, amount=eur(10_000), stage="demo"))
    b(d(11, 3), lambda p: p.edit("In demo", actor=U, close_date=date(2026, 11, 30)))
    b(d(11, 4), lambda p: p.create("In lead", actor=U, amount=eur(10_000)))
    b(d(11, 4), lambda p: p.edit("In lead", actor=U, close_date=date(2026, 11, 30)))
    f = run(db)
    assert [(p.stage, p.calibrated) for p in f.stages] == [
        ("lead", 0.0),
        ("qualified", 0.0),
        ("demo", None),
        ("proposal", None),
        ("negotiation", None),
    ]
    for period in (f.month, f.quarter):
        assert period.weighted_configured == Decimal("5000.00")  # 4,000 + 1,000
        assert period.weighted_calibrated == Decimal("4000.00")  # demo falls back; lead is 0
        assert period.fallback_stages == ["demo"]
        assert (period.won_count, period.won) == (0, Decimal("0.00"))


def test_empty_team_forecasts_zero(db: Database) -> None:
    Builder(db, T).setup()
    f = run(db)
    assert f.month.forecast_configured == f.quarter.forecast_calibrated == Decimal("0.00")
    assert (f.month.open_count, f.undated_count, f.missing_rates) == (0, 0, [])
