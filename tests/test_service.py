"""The pipeline operations on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from pipeline.errors import (
    AlreadyApplied,
    Ambiguous,
    Conflict,
    InvalidInput,
    NotFound,
    Refused,
)
from pipeline.money import Money
from pipeline.service import NextStep, PipelineService
from pipeline.types import DealStatus
from storage.db import Database
from storage.models import Activity, Deal, StageChange, Team
from storage.services import service_in
from tests.conftest import FrozenClock

T = "T0001"
ALICE = "U0ALICE"
BOB = "U0BOB"


def svc(session, clock: FrozenClock, team: str = T) -> PipelineService:
    return service_in(session, team, clock=clock)


def count(db: Database, model: type) -> int:
    with db.read_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_first_use_creates_team_with_default_stages(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        stages = svc(s, clock).stages()
    assert [(x.key, x.probability, x.stale_days) for x in stages] == [
        ("lead", 10, 14),
        ("qualified", 25, 14),
        ("demo", 40, 10),
        ("proposal", 60, 10),
        ("negotiation", 80, 7),
    ]


def test_create_numbers_per_team_and_records_history(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        a = svc(s, clock).create("Acme", actor=ALICE, amount=Money(Decimal("50000"), "USD"))
        b = svc(s, clock).create("Beta", actor=ALICE, stage="demo")
        c = svc(s, clock, team="T0002").create("Other team", actor=BOB)
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert a.amount == Decimal("50000.00")
    assert a.currency == "USD"
    assert a.stage == "lead"
    assert b.stage == "demo"
    assert a.owner_id == ALICE
    with db.read_scope() as s:
        detail = svc(s, clock).detail("#2")
    assert [(h.from_stage, h.to_stage) for h in detail.stage_changes] == [(None, "demo")]


def test_teams_never_see_each_others_deals(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock, team="T0002").create("Secret", actor=BOB)
    with db.read_scope() as s, pytest.raises(NotFound):
        svc(s, clock).find("#1")
    with db.read_scope() as s, pytest.raises(NotFound):
        svc(s, clock).find("Secret")
    with db.read_scope() as s:
        assert svc(s, clock).list_deals() == []


def test_move_win_lose_reopen_history(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
    clock.advance(days=1)
    with db.session_scope() as s:
        d = svc(s, clock).move("#1", "proposal", actor=BOB, expected_version=1)
    assert d.stage == "proposal"
    assert d.version == 2
    assert d.updated_by == BOB
    clock.advance(days=1)
    with db.session_scope() as s:
        d = svc(s, clock).lose("acme", "went with a competitor", actor=BOB)
    assert d.status == DealStatus.LOST
    assert d.stage == "proposal"
    assert d.closed_at == clock.now
    assert (d.lost_reason, d.lost_detail) == ("other", "went with a competitor")
    clock.advance(days=1)
    with db.session_scope() as s:
        d = svc(s, clock).reopen(1, actor=ALICE)
    assert d.status == DealStatus.OPEN
    assert d.stage == "proposal"
    assert d.closed_at is None
    with db.session_scope() as s:
        d = svc(s, clock).win(1, actor=ALICE)
    assert d.status == DealStatus.WON
    with db.read_scope() as s:
        history = svc(s, clock).detail("1").stage_changes
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, "lead"),
        ("lead", "proposal"),
        ("proposal", "lost"),
        ("lost", "proposal"),
        ("proposal", "won"),
    ]


def test_stale_version_is_refused_naming_the_current_stage(
    db: Database, clock: FrozenClock
) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
    with db.session_scope() as s:
        svc(s, clock).move(1, "demo", actor=BOB, expected_version=1)
    with pytest.raises(Conflict) as err, db.session_scope() as s:
        svc(s, clock).move(1, "proposal", actor=ALICE, expected_version=1)
    assert "Demo" in err.value.message
    assert BOB in err.value.message
    assert err.value.current_version == 2
    with db.read_scope() as s:
        assert svc(s, clock).find("1").stage == "demo"
    assert count(db, StageChange) == 2


def test_concurrent_moves_give_one_move_and_one_refusal(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def mover(stage: str) -> None:
        # Both clickers saw version 1 on their card, then click at the same moment.
        with db.read_scope() as s:
            seen = svc(s, clock).find("1").version
        barrier.wait(timeout=10)
        try:
            with db.session_scope() as s:
                svc(s, clock).move(1, stage, actor=ALICE, expected_version=seen)
            results.append("moved")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=mover, args=(st,)) for st in ("demo", "proposal")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["conflict", "moved"]
    assert count(db, StageChange) == 2
    with db.read_scope() as s:
        assert svc(s, clock).find("1").stage in ("demo", "proposal")


def test_errors_write_nothing(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
    bad_calls = [
        lambda p: p.create("", actor=ALICE),
        lambda p: p.create("12", actor=ALICE),
        lambda p: p.create("Beta", actor=ALICE, stage="nowhere"),
        lambda p: p.create("Beta", actor=ALICE, amount=Money(Decimal("-1"), "USD")),
        lambda p: p.move("#9", "demo", actor=ALICE),
        lambda p: p.move("#1", "lead", actor=ALICE),
        lambda p: p.lose("#1", "  ", actor=ALICE),
        lambda p: p.log_activity("#1", "tweet", "hi", actor=ALICE),
        lambda p: p.log_activity("#1", "call", "", actor=ALICE),
        lambda p: p.reopen("#1", actor=ALICE),
        lambda p: p.remove_stage("lead"),
        lambda p: p.set_stage("demo", probability=120),
        lambda p: p.add_stage("Won", 90, 5),
        lambda p: p.set_rate("XXY", Decimal(1)),
        lambda p: p.set_timezone("Mars/Olympus"),
    ]
    before = (count(db, Deal), count(db, StageChange), count(db, Activity))
    for call in bad_calls:
        with pytest.raises((InvalidInput, NotFound, Refused)) as err, db.session_scope() as s:
            call(svc(s, clock))
        assert err.value.message
    assert (count(db, Deal), count(db, StageChange), count(db, Activity)) == before
    with db.read_scope() as s:
        assert next(x.key for x in svc(s, clock).stages()) == "lead"


def test_an_error_after_a_write_rolls_the_whole_operation_back(
    db: Database, clock: FrozenClock
) -> None:
    # The deal number is allocated (a write) before the stage lookup fails.
    with pytest.raises(NotFound), db.session_scope() as s:  # noqa: PT012 - one transaction
        p = svc(s, clock)
        p.create("Acme", actor=ALICE)
        p.move("#1", "nowhere", actor=ALICE)
    assert count(db, Deal) == 0
    with db.session_scope() as s:
        assert svc(s, clock).create("Beta", actor=ALICE).number == 1


def test_find_by_number_prefix_and_ambiguity(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        p = svc(s, clock)
        p.create("Acme", actor=ALICE)
        p.create("Acme Corp", actor=ALICE)
        p.create("Beta 100% off", actor=ALICE)
    with db.read_scope() as s:
        p = svc(s, clock)
        assert p.find("#2").name == "Acme Corp"
        assert p.find("2").name == "Acme Corp"
        assert p.find("acme").number == 1  # exact match wins over prefix
        assert p.find("acme c").number == 2
        assert p.find("beta 100%").number == 3
        with pytest.raises(Ambiguous) as err:
            p.find("ac")
        assert err.value.candidates == ["#2 Acme Corp", "#1 Acme"]
        with pytest.raises(NotFound):
            p.find("zeta")
        with pytest.raises(NotFound):
            p.find("%")


def test_idempotency_key_applies_once(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE, idempotency_key="cmd-1")
    with pytest.raises(AlreadyApplied) as err, db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE, idempotency_key="cmd-1")
    assert err.value.deal_number == 1
    with db.session_scope() as s:
        svc(s, clock).log_activity(1, "call", "hello", actor=ALICE, idempotency_key="click-7")
    with pytest.raises(AlreadyApplied), db.session_scope() as s:
        svc(s, clock).log_activity(1, "call", "hello", actor=ALICE, idempotency_key="click-7")
    assert count(db, Deal) == 1
    assert count(db, Activity) == 1


def test_next_step_assign_snooze_close_date_and_activity(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE, close_date=date(2026, 12, 15))
    clock.advance(hours=1)
    with db.session_scope() as s:
        p = svc(s, clock)
        p.set_next_step(1, NextStep("send proposal", date(2026, 12, 1)), actor=ALICE)
        p.assign(1, BOB, actor=ALICE)
        p.snooze(1, date(2026, 11, 30), actor=ALICE)
        p.push_close_date(1, date(2026, 12, 31), actor=ALICE)
        p.edit(1, actor=ALICE, close_date=date(2027, 1, 31), amount=Money(Decimal("1.5"), "EUR"))
        d = p.log_activity(1, "meeting", "demo done", actor=BOB, link="https://x/p1")
    assert d.owner_id == BOB
    assert d.next_step_text == "send proposal"
    assert d.snoozed_until == date(2026, 11, 30)
    assert d.close_date == date(2027, 1, 31)
    assert d.amount == Decimal("1.50")
    assert d.currency == "EUR"
    assert d.last_activity_at == clock.now
    with db.read_scope() as s:
        detail = svc(s, clock).detail("1")
    assert [(c.old_date, c.new_date) for c in detail.close_date_changes] == [
        (date(2026, 12, 15), date(2026, 12, 31)),
        (date(2026, 12, 31), date(2027, 1, 31)),
    ]
    assert [(a.kind, a.text, a.link) for a in detail.activities] == [
        ("meeting", "demo done", "https://x/p1")
    ]
    with pytest.raises(InvalidInput), db.session_scope() as s:
        svc(s, clock).snooze(1, date(2026, 11, 27), actor=ALICE)


def test_advance_walks_the_stages_then_suggests_won(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE, stage="proposal")
    with db.session_scope() as s:
        assert svc(s, clock).advance(1, actor=ALICE).stage == "negotiation"
    with pytest.raises(Refused) as err, db.session_scope() as s:
        svc(s, clock).advance(1, actor=ALICE)
    assert "won #1" in err.value.user_text()


def test_delete_removes_history_and_never_reuses_numbers(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
        svc(s, clock).log_activity(1, "note", "x", actor=ALICE)
    with db.session_scope() as s:
        svc(s, clock).delete("#1", actor=ALICE)
    assert (count(db, Deal), count(db, StageChange), count(db, Activity)) == (0, 0, 0)
    with db.session_scope() as s:
        assert svc(s, clock).create("Beta", actor=ALICE).number == 2


def test_stage_admin(db: Database, clock: FrozenClock) -> None:
    with db.session_scope() as s:
        p = svc(s, clock)
        p.add_stage("Contract Sent", 90, 5)
        p.add_stage("Discovery", 15, 14, before="qualified")
        p.rename_stage("demo", "Product Demo")
        p.set_stage("lead", probability=5, stale_days=30)
        p.create("Acme", actor=ALICE, stage="contract")
    with db.session_scope() as s:
        p = svc(s, clock)
        p.remove_stage("negotiation")
        with pytest.raises(Refused) as err:
            p.remove_stage("contract sent")
        assert "1 open deal" in err.value.message
        p.reorder_stages(["discovery", "lead", "qualified", "product demo", "proposal", "contract"])
    with db.read_scope() as s:
        stages = svc(s, clock).stages()
    assert [(x.key, x.name, x.position) for x in stages] == [
        ("discovery", "Discovery", 0),
        ("lead", "Lead", 1),
        ("qualified", "Qualified", 2),
        ("demo", "Product Demo", 3),
        ("proposal", "Proposal", 4),
        ("contract_sent", "Contract Sent", 5),
    ]
    assert stages[1].probability == 5
    assert stages[1].stale_days == 30


def test_team_created_once_by_concurrent_first_requests(db: Database, clock: FrozenClock) -> None:
    errors: list[BaseException] = []

    def first_touch() -> None:
        try:
            with db.session_scope() as s:
                svc(s, clock, team="TNEW").stages()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_touch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert count(db, Team) == 1
    with db.read_scope() as s:
        assert len(svc(s, clock, team="TNEW").stages()) == 5


def test_a_deal_read_earlier_in_the_transaction_is_checked_against_the_locked_row(
    db: Database, clock: FrozenClock
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serializes write transactions: the other writer would wait on us")
    with db.session_scope() as s:
        svc(s, clock).create("Acme", actor=ALICE)
    # A double click: the second reads the card's deal, the first commits, the second moves.
    with pytest.raises(Conflict) as err, db.session_scope() as s:  # noqa: PT012 - one transaction
        second = svc(s, clock)
        second.find("#1")
        with db.session_scope() as other:
            svc(other, clock).advance(1, actor=BOB, expected_version=1)
        second.advance(1, actor=ALICE, expected_version=1)
    assert "changed since you saw it" in err.value.message
    assert "Qualified" in err.value.message
