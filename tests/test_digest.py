"""The weekly digest's numbers against a hand-computed week, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pipeline.digest import DigestData, collect_digest
from pipeline.errors import NotFound
from pipeline.money import Money
from storage.db import Database
from storage.reports import reports_in
from tests.test_forecast import Builder, d, eur, usd

T = "TDIGEST"
OTHER = "TOTHER"
U1 = "U0ALICE"
U2 = "U0BOB"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # the week is [20 Nov 10:00, 27 Nov 10:00)


def build_week(db: Database) -> None:
    """Six deals before the week, then a week with every kind of movement.

    Before: Sleepy (negotiation, quiet since 1 Oct), Tango (lead, quiet since 20 Oct), Acme
    (lead), Bolt ($10,000 demo), Cargo (proposal), Delta (qualified, closing 1 Dec).
    The week: Acme lead → demo and Delta qualified → proposal (advances), Cargo proposal →
    qualified (a move back), Echo and Foxtrot (£, no rate) created, Bolt won, Delta's close
    date pushed to 15 Dec, Acme's pulled in (not a push), Cargo lost at qualified.
    """
    b = Builder(db, T)
    b.setup()
    b(d(10, 1), lambda p: p.create("Sleepy", actor=U2, amount=eur(1_000), stage="negotiation"))
    b(d(10, 20), lambda p: p.create("Tango", actor=U1, amount=eur(2_000)))
    b(
        d(11, 1),
        lambda p: p.create("Acme", actor=U1, amount=eur(20_000), close_date=date(2026, 11, 30)),
    )
    b(
        d(11, 2),
        lambda p: p.create(
            "Bolt", actor=U2, amount=usd(10_000), stage="demo", close_date=date(2026, 12, 20)
        ),
    )
    b(d(11, 3), lambda p: p.create("Cargo", actor=U2, amount=eur(8_000), stage="proposal"))
    b(
        d(11, 4),
        lambda p: p.create(
            "Delta", actor=U1, amount=eur(12_000), stage="qualified", close_date=date(2026, 12, 1)
        ),
    )
    b(d(11, 21), lambda p: p.move("Acme", "demo", actor=U1))
    b(d(11, 22), lambda p: p.move("Cargo", "qualified", actor=U2))
    b(d(11, 22), lambda p: p.move("Delta", "proposal", actor=U1))
    b(d(11, 23), lambda p: p.create("Echo", actor=U1, amount=eur(5_000)))
    b(d(11, 24), lambda p: p.create("Foxtrot", actor=U1, amount=Money(Decimal(3_000), "GBP")))
    b(d(11, 24), lambda p: p.win("Bolt", actor=U2))
    b(d(11, 25), lambda p: p.push_close_date("Delta", date(2026, 12, 15), actor=U1))
    b(d(11, 25), lambda p: p.edit("Acme", actor=U1, close_date=date(2026, 11, 28)))
    b(d(11, 26), lambda p: p.lose("Cargo", "competitor went with Globex", actor=U2))

    # Another team's busy week must not leak into this one.
    other = Builder(db, OTHER)
    other.setup()
    other(
        d(11, 21),
        lambda p: p.create("Theirs", actor=U1, amount=eur(90_000), close_date=date(2026, 12, 1)),
    )
    other(d(11, 22), lambda p: p.move("Theirs", "demo", actor=U1))
    other(d(11, 23), lambda p: p.push_close_date("Theirs", date(2026, 12, 9), actor=U1))
    other(d(11, 24), lambda p: p.create("Their win", actor=U1, amount=eur(70_000)))
    other(d(11, 25), lambda p: p.win("Their win", actor=U1))


def digest(db: Database, team: str = T) -> DigestData:
    with db.read_scope() as s:
        return collect_digest(reports_in(s, team), now=NOW)


def test_digest_matches_hand_computed_week(db: Database) -> None:
    build_week(db)
    g = digest(db)
    assert (g.currency, g.first_day, g.last_day) == ("EUR", date(2026, 11, 20), date(2026, 11, 27))
    # Now: lead Tango + Echo + Foxtrot (unpriced), demo Acme, proposal Delta, negotiation Sleepy.
    assert (g.open.count, g.open.amount, g.open.weighted, g.unpriced) == (
        6,
        Decimal("40000.00"),
        Decimal("16700.00"),
        1,
    )
    # A week ago, rebuilt from history: lead Tango + Acme, qualified Delta, demo Bolt ($10,000),
    # proposal Cargo, negotiation Sleepy.
    assert (g.open_before.count, g.open_before.amount, g.open_before.weighted) == (
        6,
        Decimal("48000.00"),
        Decimal("12800.00"),
    )
    assert [(s.stage, s.count, s.amount, s.count_before, s.amount_before) for s in g.stages] == [
        ("lead", 3, Decimal("7000.00"), 2, Decimal("22000.00")),
        ("qualified", 0, Decimal("0.00"), 1, Decimal("12000.00")),
        ("demo", 1, Decimal("20000.00"), 1, Decimal("5000.00")),
        ("proposal", 1, Decimal("12000.00"), 1, Decimal("8000.00")),
        ("negotiation", 1, Decimal("1000.00"), 1, Decimal("1000.00")),
    ]
    assert [(s.count_change, s.amount_change, s.weighted_change) for s in g.stages] == [
        (1, Decimal("-15000.00"), Decimal("-1500.00")),
        (-1, Decimal("-12000.00"), Decimal("-3000.00")),
        (0, Decimal("15000.00"), Decimal("6000.00")),
        (0, Decimal("4000.00"), Decimal("2400.00")),
        (0, Decimal("0.00"), Decimal("0.00")),
    ]

    assert g.missing_rates == ["GBP"]
    assert (g.new.count, g.new.amount, g.new.unpriced) == (2, Decimal("5000.00"), 1)
    assert g.advances == 2  # Acme and Delta; Cargo's move back is not an advance
    assert (g.won.count, g.won.amount, g.won.unpriced) == (1, Decimal("5000.00"), 0)
    [bolt] = g.won.deals
    assert (bolt.name, bolt.amount, bolt.currency, bolt.converted, bolt.stage_name) == (
        "Bolt",
        Decimal("10000.00"),
        "USD",
        Decimal("5000.00"),
        "Demo",
    )
    assert (g.lost.count, g.lost.amount) == (1, Decimal("8000.00"))
    [cargo] = g.lost.deals
    assert (cargo.name, cargo.stage, cargo.stage_name, cargo.reason, cargo.owner_id) == (
        "Cargo",
        "qualified",
        "Qualified",
        "Competitor — went with Globex",
        U2,
    )
    assert (g.pushed.count, g.pushed.pushes) == (1, 1)
    [delta] = g.pushed.deals
    assert (delta.name, delta.old_date, delta.close_date) == (
        "Delta",
        date(2026, 12, 1),
        date(2026, 12, 15),
    )

    # The 90-day cohort: Bolt won after 22 days, Cargo lost at qualified (reached proposal).
    assert (g.won_count, g.lost_count, g.win_rate) == (1, 1, 0.5)
    assert (g.avg_days_to_win, g.avg_won_amount) == (22.0, Decimal("5000.00"))
    assert [(s.stage, s.conversion_rate, s.loss_rate, s.win_rate_from) for s in g.stages] == [
        ("lead", 1.0, 0.0, 0.5),
        ("qualified", 0.5, 0.5, 0.5),
        ("demo", 1.0, 0.0, 0.5),
        ("proposal", 1.0, 0.0, 0.5),
        ("negotiation", 1.0, 0.0, 1.0),
    ]
    # Exits: lead 20 d (Acme); qualified 18 d (Delta) and 4 d (Cargo); demo 22 d (Bolt);
    # proposal 19 d (Cargo). Against stale thresholds 14, 14, 10, 10: demo's 2.2 is largest.
    assert [(s.stage, s.median_days) for s in g.stages] == [
        ("lead", 20.0),
        ("qualified", 11.0),
        ("demo", 22.0),
        ("proposal", 19.0),
        ("negotiation", None),
    ]
    assert g.bottleneck is not None
    assert (g.bottleneck.stage, g.bottleneck.median_days, g.bottleneck.ratio) == ("demo", 22.0, 2.2)

    # Month: Acme (20,000 demo: 40% / 0.5) + Bolt won 5,000. Quarter adds Delta (12,000
    # proposal: 60% / 0.5). Sleepy, Tango, Echo and Foxtrot have no close date.
    f = g.forecast
    assert (f.month.forecast_configured, f.month.forecast_calibrated) == (
        Decimal("13000.00"),
        Decimal("15000.00"),
    )
    assert (f.quarter.forecast_configured, f.quarter.forecast_calibrated) == (
        Decimal("20200.00"),
        Decimal("21000.00"),
    )
    assert (f.undated_count, f.undated_amount, f.undated_unpriced) == (4, Decimal("8000.00"), 1)

    assert g.stale_count == 2
    assert [(s.name, s.owner_id, s.stage_name, s.days_quiet) for s in g.stale] == [
        ("Sleepy", U2, "Negotiation", 57),
        ("Tango", U1, "Lead", 38),
    ]


def test_lists_keep_the_largest_ten_and_totals_cover_all(db: Database) -> None:
    b = Builder(db, T)
    b.setup()
    names = [f"Deal {k}k" for k in range(1, 9)]
    for k, name in enumerate(names, start=1):
        b(d(11, 21), lambda p, name=name, k=k: p.create(name, actor=U1, amount=eur(k * 1_000)))
    b(d(11, 21), lambda p: p.create("Dollars", actor=U1, amount=usd(30_000)))  # 15,000
    b(d(11, 21), lambda p: p.create("No amount", actor=U1))
    b(d(11, 21), lambda p: p.create("Pounds", actor=U1, amount=Money(Decimal(99_000), "GBP")))
    for name in [*names, "Dollars", "No amount", "Pounds"]:
        b(d(11, 22), lambda p, name=name: p.win(name, actor=U1))
    g = digest(db)
    assert (g.won.count, g.won.amount, g.won.unpriced) == (11, Decimal("51000.00"), 2)
    assert [w.name for w in g.won.deals] == ["Dollars", *reversed(names), "No amount"]
    assert g.new.count == 11


def test_quiet_team_has_an_empty_digest_and_no_bottleneck(db: Database) -> None:
    Builder(db, T).setup()
    g = digest(db)
    assert g.bottleneck is None
    assert (g.open.count, g.new.count, g.advances, g.won.count, g.lost.count) == (0, 0, 0, 0, 0)
    assert (g.pushed.count, g.stale_count, g.stale, g.win_rate) == (0, 0, [], None)
    with db.read_scope() as s, pytest.raises(NotFound):
        collect_digest(reports_in(s, "TNOBODY"), now=NOW)
