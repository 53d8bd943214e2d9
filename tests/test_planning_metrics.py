"""by_source, lost_reasons and targets against hand-computed values, on both backends.

The fixture (team in UTC, reporting in EUR, 1 USD = 0.5 EUR), measured at 15 Feb 2027 00:00
over the window [1 Jan 2027, 15 Feb 2027):

  #  deal     owner  amount      source    what happens
  1  Alpha    alice  20,000 EUR  referral  won 20 Jan (16 days)
  2  Bravo    bob    10,000 USD  referral  won 1 Feb (28 days), 5,000 EUR
  3  Charlie  alice  —           inbound   won 10 Feb (36 days), unpriced
  4  Delta    bob     8,000 EUR  —         lost 25 Jan from proposal: "price too high"
  5  Echo     alice   6,000 EUR  inbound   lost 5 Feb from lead: "competitor ..."
  6  Foxtrot  bob     4,000 EUR  event     lost 6 Feb from lead: "we never heard back" (other)
  7  Lima     bob     9,000 EUR  referral  open in lead at as_of, close 20 Feb; won 20 Feb
  8  Golf     alice  50,000 EUR  outbound  open in proposal (60 %), close 15 Mar
  9  Hotel    bob    10,000 EUR  —         open in negotiation (80 %), close 20 Feb
 10  India    alice 100,000 EUR  outbound  open in demo, close 1 May (after Q1)
 11  Juliet   bob     —          —         open in lead, close 1 Mar, unpriced
 12  Kilo     alice   7,000 EUR  partner   created 14 Feb, no close date

Targets: team Q1 100k, alice Q1 40k, bob Q1 30k, bob 2027-02 20k, alice 2027-01 10k (over).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pipeline.metrics import Metrics, compute, render_table
from pipeline.money import Money
from pipeline.service import PipelineService
from storage.db import Database
from storage.reports import reports_in
from storage.services import service_in
from tests.conftest import FrozenClock

T = "TPLAN"
ALICE = "U0ALICE"
BOB = "U0BOB"
AS_OF = datetime(2027, 2, 15, tzinfo=UTC)


def eur(amount: int) -> Money:
    return Money(Decimal(amount), "EUR")


def at(month: int, day: int) -> datetime:
    return datetime(2027, month, day, 10, 0, tzinfo=UTC)


def build(db: Database) -> None:
    """The fixture above, written through the service as commands would."""
    clock = FrozenClock(at(1, 4))

    def op(when: datetime, fn: Callable[[PipelineService], Any]) -> None:
        clock.now = when
        with db.session_scope() as s:
            fn(service_in(s, T, clock=clock))

    def setup(p: PipelineService) -> None:
        p.set_currency("EUR")
        p.set_rate("USD", Decimal("0.5"))
        p.set_target(None, "2027-Q1", Decimal(100_000))
        p.set_target(ALICE, "2027-Q1", Decimal(40_000))
        p.set_target(BOB, "2027-q1", Decimal(30_000))
        p.set_target(BOB, "2027-02", Decimal(20_000))
        p.set_target(ALICE, "2027-01", Decimal(10_000))

    op(at(1, 4), setup)
    op(
        at(1, 4),
        lambda p: (
            p.create("Alpha", actor=ALICE, owner_id=ALICE, amount=eur(20_000), source="referral"),
            p.create(
                "Bravo",
                actor=BOB,
                owner_id=BOB,
                amount=Money(Decimal(10_000), "USD"),
                source="Referral",
            ),
        ),
    )
    op(
        at(1, 5),
        lambda p: (
            p.create("Charlie", actor=ALICE, owner_id=ALICE, source="inbound"),
            p.create("Delta", actor=BOB, owner_id=BOB, amount=eur(8_000)),
        ),
    )
    op(
        at(1, 6),
        lambda p: (
            p.create("Echo", actor=ALICE, owner_id=ALICE, amount=eur(6_000), source="inbound"),
            p.create("Foxtrot", actor=BOB, owner_id=BOB, amount=eur(4_000), source="event"),
        ),
    )

    def open_deals(p: PipelineService) -> None:
        p.create(
            "Lima", actor=BOB, owner_id=BOB, amount=eur(9_000), source="referral",
            close_date=date(2027, 2, 20),
        )  # fmt: skip
        p.create(
            "Golf", actor=ALICE, owner_id=ALICE, amount=eur(50_000), source="outbound",
            stage="proposal", close_date=date(2027, 3, 15),
        )  # fmt: skip
        p.create(
            "Hotel", actor=BOB, owner_id=BOB, amount=eur(10_000), stage="negotiation",
            close_date=date(2027, 2, 20),
        )  # fmt: skip
        p.create(
            "India", actor=ALICE, owner_id=ALICE, amount=eur(100_000), source="outbound",
            stage="demo", close_date=date(2027, 5, 1),
        )  # fmt: skip
        p.create("Juliet", actor=BOB, owner_id=BOB, close_date=date(2027, 3, 1))

    op(at(1, 7), open_deals)
    op(at(1, 10), lambda p: p.move("Delta", "proposal", actor=BOB))
    op(at(1, 20), lambda p: p.win("Alpha", actor=ALICE))
    op(at(1, 25), lambda p: p.lose("Delta", "price too high", actor=BOB))
    op(at(2, 1), lambda p: p.win("Bravo", actor=BOB))
    op(at(2, 5), lambda p: p.lose("Echo", "competitor went with Globex", actor=ALICE))
    op(at(2, 6), lambda p: p.lose("Foxtrot", "we never heard back", actor=BOB))
    op(at(2, 10), lambda p: p.win("Charlie", actor=ALICE))
    op(at(2, 14), lambda p: p.create("Kilo", actor=ALICE, amount=eur(7_000), source="partner"))
    op(at(2, 20), lambda p: p.win("Lima", actor=BOB))


def measured(db: Database) -> Metrics:
    with db.read_scope() as s:
        return compute(
            reports_in(s, T), as_of=AS_OF, start=datetime(2027, 1, 1, tzinfo=UTC), end=AS_OF
        )


def test_by_source_lost_reasons_and_targets_match_hand_computed_values(db: Database) -> None:
    build(db)
    doc = measured(db).to_json()
    assert doc["by_source"] == [
        {"source": "inbound", "created": 2, "won_count": 1, "lost_count": 1, "win_rate": 0.5,
         "won_amount": "0.00", "avg_days_to_win": 36.0},
        {"source": "outbound", "created": 2, "won_count": 0, "lost_count": 0, "win_rate": None,
         "won_amount": "0.00", "avg_days_to_win": None},
        {"source": "referral", "created": 3, "won_count": 2, "lost_count": 0, "win_rate": 1.0,
         "won_amount": "25000.00", "avg_days_to_win": 22.0},
        {"source": "partner", "created": 1, "won_count": 0, "lost_count": 0, "win_rate": None,
         "won_amount": "0.00", "avg_days_to_win": None},
        {"source": "event", "created": 1, "won_count": 0, "lost_count": 1, "win_rate": 0.0,
         "won_amount": "0.00", "avg_days_to_win": None},
        {"source": "none", "created": 3, "won_count": 0, "lost_count": 1, "win_rate": 0.0,
         "won_amount": "0.00", "avg_days_to_win": None},
    ]  # fmt: skip
    assert doc["lost_reasons"] == [
        {"reason": "competitor", "count": 1, "amount": "6000.00", "by_stage": {"lead": 1}},
        {"reason": "other", "count": 1, "amount": "4000.00", "by_stage": {"lead": 1}},
        {"reason": "price", "count": 1, "amount": "8000.00", "by_stage": {"proposal": 1}},
    ]
    assert doc["targets"] == [
        {"owner": None, "period": "2027-Q1", "amount": "100000.00", "won": "25000.00",
         "attainment": 0.25, "expected_by_now": "50000.00", "open_weighted": "38900.00",
         "forecast": "63900.00", "gap": "36100.00"},
        {"owner": ALICE, "period": "2027-Q1", "amount": "40000.00", "won": "20000.00",
         "attainment": 0.5, "expected_by_now": "20000.00", "open_weighted": "30000.00",
         "forecast": "50000.00", "gap": "-10000.00"},
        {"owner": BOB, "period": "2027-Q1", "amount": "30000.00", "won": "5000.00",
         "attainment": 0.1667, "expected_by_now": "15000.00", "open_weighted": "8900.00",
         "forecast": "13900.00", "gap": "16100.00"},
        {"owner": BOB, "period": "2027-02", "amount": "20000.00", "won": "5000.00",
         "attainment": 0.25, "expected_by_now": "10000.00", "open_weighted": "8900.00",
         "forecast": "13900.00", "gap": "6100.00"},
    ]  # fmt: skip


def test_the_lost_text_is_split_into_reason_and_detail(db: Database) -> None:
    build(db)
    with db.read_scope() as s:
        p = service_in(s, T)
        lost = {d.name: (d.lost_reason, d.lost_detail) for d in p.list_deals()}
    assert lost["Delta"] == ("price", "too high")
    assert lost["Echo"] == ("competitor", "went with Globex")
    assert lost["Foxtrot"] == ("other", "we never heard back")
    assert lost["Alpha"] == (None, None)


def test_a_source_taken_off_the_list_is_still_counted_after_the_list(db: Database) -> None:
    build(db)
    with db.session_scope() as s:
        service_in(s, T).remove_source("event")
    rows = measured(db).by_source
    assert [r.source for r in rows] == [
        "inbound",
        "outbound",
        "referral",
        "partner",
        "event",
        "none",
    ]
    assert next(r for r in rows if r.source == "event").lost_count == 1


def test_the_human_stats_output_shows_the_planning_numbers(db: Database) -> None:
    build(db)
    text = render_table(measured(db))
    assert "referral" in text
    assert "25,000.00" in text
    assert "competitor" in text
    assert f"{ALICE} 2027-Q1: won 20,000.00 of 40,000.00 (50%)" in text
    assert "team 2027-Q1: won 25,000.00 of 100,000.00 (25%)" in text
