"""Forecast accuracy across period boundaries, driven by the scheduler's clock.

A Paris team's weekly digest (Monday 09:00) runs every Monday from 5 October 2026 to
4 January 2027. It records its month's and quarter's forecasts each time; once October, then
December and the fourth quarter have ended, the next digest compares the forecast recorded
first in each with the revenue won.

Calibration (closed in September, within 90 days of every digest): W1 and W2 won, L1 lost at
lead. Reached: lead 3, every later stage 2; win_rate_from: lead 0.6667, later stages 1.0.
Open on 5 October: A (100,000, proposal, closing 20 Oct) and B (50,000, demo, closing 10 Dec).
A is won on 20 Oct; C (35,000, negotiation) is created on 10 Nov and won on 1 Dec; B is lost
on 5 Dec.

Recorded on 5 October (fewer than 20 closed deals per stage: the range uses the configured
probabilities, 60 % and 40 %):
  2026-10: forecast 100,000 × 60 % = 60,000; calibrated 100,000 × 1.0 = 100,000;
           P10 0 (A lost in 40 % of runs), P90 100,000.
  2026-Q4: forecast 60,000 + 50,000 × 40 % = 80,000; calibrated 150,000; P10 0 (both lost
           in 24 % of runs), P90 150,000 (both won in 24 %).
Actual: October 100,000 (+67 %, calibrated +0 %); Q4 135,000 (+69 %, calibrated −10 %).
December is first recorded on 7 December: C won (35,000), B lost, nothing open: forecast,
calibrated, P10 and P90 all 35,000; actual 35,000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from pipeline.accuracy import accuracy
from pipeline.money import Money
from sandbox.blockkit import validate_blocks
from sandbox.slack_api import DEFAULT_CHANNEL
from scheduler.sender import Outcome
from storage.models import ForecastSnapshot
from storage.reports import reports_in
from storage.services import service_in
from tests.scheduler.conftest import Harness

T = "T0ACCURACY"
REP = "U0ALICE"
FIRST_MONDAY = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # 10:00 in Paris (summer time)
LAST_MONDAY = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # 09:00 in Paris


def eur(amount: int) -> Money:
    return Money(Decimal(amount), "EUR")


def at(h: Harness, when: datetime, *steps: Any) -> None:
    """Run service steps at `when`, in one transaction."""
    h.clock.now = when
    with h.db.session_scope() as s:
        p = service_in(s, T, clock=h.clock)
        for step in steps:
            step(p)


def setup_team(h: Harness) -> None:
    at(
        h,
        datetime(2026, 9, 1, 9, tzinfo=UTC),
        lambda p: p.set_timezone("Europe/Paris"),
        lambda p: p.set_currency("EUR"),
        lambda p: p.set_channel(DEFAULT_CHANNEL),
        lambda p: p.set_reminders("off"),
        lambda p: p.create("W1", actor=REP, amount=eur(1_000)),
        lambda p: p.create("W2", actor=REP, amount=eur(1_000)),
        lambda p: p.create("L1", actor=REP, amount=eur(1_000)),
    )
    at(
        h,
        datetime(2026, 9, 12, 9, tzinfo=UTC),
        lambda p: p.win("W1", actor=REP),
        lambda p: p.win("W2", actor=REP),
        lambda p: p.lose("L1", "no budget", actor=REP),
    )
    at(
        h,
        datetime(2026, 9, 15, 9, tzinfo=UTC),
        lambda p: p.create(
            "A", actor=REP, amount=eur(100_000), stage="proposal", close_date=date(2026, 10, 20)
        ),
        lambda p: p.create(
            "B", actor=REP, amount=eur(50_000), stage="demo", close_date=date(2026, 12, 10)
        ),
    )


EVENTS: dict[date, Any] = {
    date(2026, 10, 20): lambda p: p.win("A", actor=REP),
    date(2026, 11, 10): lambda p: p.create(
        "C", actor=REP, amount=eur(35_000), stage="negotiation", close_date=date(2026, 12, 15)
    ),
    date(2026, 12, 1): lambda p: p.win("C", actor=REP),
    date(2026, 12, 5): lambda p: p.lose("B", "went with a competitor", actor=REP),
}


def weekly(h: Harness) -> dict[date, str]:
    """Tick every Monday until the last one, with the deals' events in between; the text of
    each digest's accuracy section (empty when it has none), by day."""
    sections: dict[date, str] = {}
    events = sorted(EVENTS.items())
    monday = FIRST_MONDAY
    while monday <= LAST_MONDAY:
        while events and events[0][0] < monday.date():
            day, step = events.pop(0)
            at(h, datetime(day.year, day.month, day.day, 10, tzinfo=UTC), step)
        h.clock.now = monday
        h.fake.reset()
        assert h.runner().tick() == [Outcome.SENT]
        [message] = h.fake.messages(DEFAULT_CHANNEL)
        assert validate_blocks(message.blocks) == []
        assert len(message.blocks) <= 50
        sections[monday.date()] = "\n".join(
            b["text"]["text"]
            for b in message.blocks
            if b["type"] == "section" and "Forecast accuracy" in b.get("text", {}).get("text", "")
        )
        monday += timedelta(days=7)
    return sections


def snapshot_count(h: Harness) -> int:
    with h.db.read_scope() as s:
        return s.scalar(select(func.count()).select_from(ForecastSnapshot)) or 0


def test_a_retried_digest_records_its_forecasts_once(harness: Harness) -> None:
    setup_team(harness)
    harness.clock.now = FIRST_MONDAY
    harness.fake.fail_next("chat.postMessage", status=500)
    assert harness.runner().tick() == [Outcome.RETRY]
    assert snapshot_count(harness) == 2  # 2026-10 and 2026-Q4
    harness.clock.advance(minutes=2)
    assert harness.runner().tick() == [Outcome.SENT]
    assert len(harness.fake.messages(DEFAULT_CHANNEL)) == 1
    assert snapshot_count(harness) == 2
    with harness.db.read_scope() as s:
        rows = s.scalars(select(ForecastSnapshot).order_by(ForecastSnapshot.period)).all()
        assert [(r.period, r.digest, r.recorded_at) for r in rows] == [
            ("2026-10", "2026-W41", FIRST_MONDAY),
            ("2026-Q4", "2026-W41", FIRST_MONDAY),
        ]
        assert [
            (r.forecast_cents, r.calibrated_cents, r.p10_cents, r.p90_cents, r.won_cents)
            for r in rows
        ] == [
            (6_000_000, 10_000_000, 0, 10_000_000, 0),
            (8_000_000, 15_000_000, 0, 15_000_000, 0),
        ]


def test_accuracy_is_reported_once_each_period_has_ended(harness: Harness) -> None:
    setup_team(harness)
    sections = weekly(harness)
    assert snapshot_count(harness) == 2 * 14  # a month and a quarter for each of 14 digests
    reported = {day: text for day, text in sections.items() if text}
    assert list(reported) == [date(2026, 11, 2), date(2026, 12, 7), date(2027, 1, 4)]
    october = reported[date(2026, 11, 2)]
    assert (
        "Oct 2026 forecast on 5 Oct: €60K; actual €100K, +67 %; the calibrated one (€100K) "
        "was +0 %; within the likely range €0–€100K" in october
    )
    assert "Nov 2026 forecast on 2 Nov: €0; actual €0, —" in reported[date(2026, 12, 7)]
    year_end = reported[date(2027, 1, 4)].splitlines()
    assert year_end[1:] == [
        "• Q4 2026 forecast on 5 Oct: €80K; actual €135K, +69 %; the calibrated one (€150K) "
        "was −10 %; within the likely range €0–€150K",
        "• Dec 2026 forecast on 7 Dec: €35K; actual €35K, +0 %; the calibrated one (€35K) "
        "was +0 %; within the likely range €35K",
    ]

    with harness.db.read_scope() as s:
        listed = accuracy(reports_in(s, T), as_of=LAST_MONDAY)
    assert [a.to_json() for a in listed] == [
        {
            "period": "2026-Q4",
            "recorded_at": "2026-10-05T08:00:00+00:00",
            "forecast": "80000.00",
            "calibrated": "150000.00",
            "p10": "0.00",
            "p90": "150000.00",
            "actual": "135000.00",
        },
        {
            "period": "2026-12",
            "recorded_at": "2026-12-07T08:00:00+00:00",
            "forecast": "35000.00",
            "calibrated": "35000.00",
            "p10": "35000.00",
            "p90": "35000.00",
            "actual": "35000.00",
        },
        {
            "period": "2026-11",
            "recorded_at": "2026-11-02T08:00:00+00:00",
            "forecast": "0.00",
            "calibrated": "0.00",
            "p10": "0.00",
            "p90": "0.00",
            "actual": "0.00",
        },
        {
            "period": "2026-10",
            "recorded_at": "2026-10-05T08:00:00+00:00",
            "forecast": "60000.00",
            "calibrated": "100000.00",
            "p10": "0.00",
            "p90": "100000.00",
            "actual": "100000.00",
        },
    ]
    assert [(a.error, a.calibrated_error) for a in listed] == [
        (0.6875, -0.1),
        (0.0, 0.0),
        (None, None),
        (0.6667, 0.0),
    ]
