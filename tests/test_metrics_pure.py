"""The metric calculators on hand-made rows: no database, no SQL, the domain alone."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pipeline.metrics import (
    AmountRow,
    Cohort,
    FunnelRows,
    LostRow,
    OpenDeals,
    Rates,
    Spread,
    compute,
    funnel_steps,
    open_totals,
    spreads,
)
from pipeline.planning_metrics import LossRow, OwnerRow, SourceRow
from pipeline.reminders import Flagged, Reason, due_items
from pipeline.schemas import DealOut, StageOut, TeamOut
from pipeline.types import DealStatus

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STAGES = [
    StageOut(key="lead", name="Lead", position=0, probability=10, stale_days=14),
    StageOut(key="demo", name="Demo", position=1, probability=50, stale_days=10),
    StageOut(key="deal", name="Deal", position=2, probability=80, stale_days=7),
]
TEAM = TeamOut(
    id="TPURE",
    timezone="Europe/Paris",
    currency="EUR",
    channel_id=None,
    admins=[],
    stages=STAGES,
    rates={"USD": Decimal("0.5")},
)


def test_funnel_counts_wins_through_every_stage_and_losses_up_to_their_furthest() -> None:
    rows = FunnelRows(
        won=3,
        lost=[LostRow("lead", 0, 2), LostRow("demo", 2, 1), LostRow("deal", None, 4)],
    )
    steps = funnel_steps(rows, STAGES)
    assert [(s.stage, s.reached, s.lost_at) for s in steps] == [
        ("lead", 6, 2),
        ("demo", 4, 1),
        ("deal", 4, 4),
    ]
    assert [(s.loss_rate, s.conversion_rate, s.win_rate_from) for s in steps] == [
        (0.3333, 0.6667, 0.5),
        (0.25, 0.75, 0.75),
        (1.0, 0.0, 0.75),
    ]


def test_open_totals_convert_per_currency_and_count_deals_without_a_rate() -> None:
    rows = [
        AmountRow("lead", "EUR", 2, 1_000_00),
        AmountRow("demo", "USD", 1, 3_000_00),
        AmountRow("demo", "GBP", 1, 9_999_00),  # no rate: counted, not summed
        AmountRow("gone", "EUR", 1, 500_00),  # a removed stage: counted, weighted at 0 %
    ]
    totals, unpriced, by_stage = open_totals(rows, STAGES, Rates.of(TEAM))
    assert (totals.count, totals.amount, totals.weighted) == (
        5,
        Decimal("3000.00"),
        Decimal("850.00"),
    )
    assert unpriced == 1
    assert [(s.stage, s.count, s.amount, s.weighted) for s in by_stage] == [
        ("lead", 2, Decimal("1000.00"), Decimal("100.00")),
        ("demo", 2, Decimal("1500.00"), Decimal("750.00")),
        ("deal", 0, Decimal("0.00"), Decimal("0.00")),
    ]


def test_spreads_take_median_and_mean_per_key_skipping_missing_values() -> None:
    # "c" has only missing values: it has no spread at all, not an error.
    pairs = [("a", 1.0), ("a", 3.0), ("c", None), ("a", 8.0), ("b", None), ("b", 2.0)]
    result = spreads(pairs)
    assert result == {"a": Spread(3.0, 4.0, 3), "b": Spread(2.0, 2.0, 1)}


@dataclass
class FakeSource:
    """A MetricsSource with canned rows, recording what it was asked."""

    team: TeamOut
    asked: list[str] = field(default_factory=list)

    def open_deals(self, as_of: datetime, today: date) -> OpenDeals:
        self.asked.append(f"open {today}")
        return OpenDeals([AmountRow("deal", "EUR", 1, 10_000_00)], [7], [], [3], [])

    def cohort(self, start: datetime, end: datetime) -> Cohort:
        self.asked.append(f"cohort {end - start}")
        totals = [AmountRow("won", "EUR", 2, 300_00), AmountRow("lost", "USD", 2, None)]
        return Cohort(totals, {"EUR": 2}, Spread(86400.0 * 3, 86400.0 * 4, 2))

    def funnel(self, start: datetime, end: datetime) -> FunnelRows:
        return FunnelRows(won=2, lost=[LostRow("lead", 0, 2)])

    def stage_exits(self, start: datetime, end: datetime) -> dict[str, Spread]:
        return {"demo": Spread(86400.0, 43200.0, 5)}

    def created_by_source(self, start: datetime, end: datetime) -> dict[str | None, int]:
        return {}

    def cohort_by_source(self, start: datetime, end: datetime) -> list[SourceRow]:
        return []

    def losses(self, start: datetime, end: datetime) -> list[LossRow]:
        return []

    def won_by_owner(self, start: datetime, end: datetime) -> list[OwnerRow]:
        return []

    def open_by_owner(self, as_of: datetime, first: date, last: date) -> list[OwnerRow]:
        return []


def test_compute_combines_the_source_rows_without_a_database() -> None:
    source = FakeSource(TEAM)
    m = compute(source, as_of=NOW)
    assert source.asked == ["open 2026-11-27", "cohort 90 days, 0:00:00"]
    assert (m.team, m.currency, m.start, m.end) == ("TPURE", "EUR", NOW - timedelta(90), NOW)
    assert (m.open.count, m.open.amount, m.open.weighted) == (
        1,
        Decimal("10000.00"),
        Decimal("8000.00"),
    )
    assert (m.won_count, m.lost_count, m.win_rate, m.avg_won_amount) == (
        2,
        2,
        0.5,
        Decimal("150.00"),
    )
    assert (m.median_days_to_win, m.avg_days_to_win) == (3.0, 4.0)
    assert [(d.stage, d.exits, d.median, d.mean) for d in m.days_in_stage] == [
        ("lead", 0, None, None),
        ("demo", 5, 1.0, 0.5),
        ("deal", 0, None, None),
    ]
    assert (m.stale, m.past_close_date) == ([7], [3])
    with pytest.raises(ValueError, match="timezone-aware"):
        compute(source, as_of=NOW.replace(tzinfo=None))


def _deal(number: int, quiet_days: int) -> DealOut:
    at = NOW - timedelta(days=quiet_days)
    return DealOut(
        number=number,
        name=f"Deal {number}",
        amount=None,
        currency="EUR",
        owner_id="U1",
        stage="lead",
        status=DealStatus.OPEN,
        created_at=at,
        created_by="U1",
        closed_at=None,
        close_date=None,
        next_step_text=None,
        next_step_due=None,
        lost_reason=None,
        source=None,
        last_activity_at=at,
        snoozed_until=None,
        updated_at=at,
        updated_by="U1",
        version=1,
    )


class FakeReminders:
    def needing_attention(self, now: datetime, today: date) -> list[Flagged]:
        return [
            Flagged(_deal(1, 20), stale=True, overdue=False, past=True),
            Flagged(_deal(2, 2), stale=False, overdue=True, past=False),
        ]


def test_due_items_name_every_reason_and_the_days_gone_quiet() -> None:
    items = due_items(FakeReminders(), now=NOW, today=NOW.date())
    assert [(i.deal.number, i.reasons, i.days_quiet) for i in items] == [
        (1, [Reason.STALE, Reason.PAST_CLOSE], 20),
        (2, [Reason.OVERDUE_STEP], 2),
    ]


def test_the_report_domain_imports_no_sqlalchemy_and_no_storage() -> None:
    modules = "pipeline.metrics, pipeline.forecast, pipeline.digest, pipeline.reminders"
    code = (
        f"import sys; import {modules}, pipeline.windows; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'storage'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
