"""The pipeline rules against an in-memory store: the domain runs without a database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import pytest

from pipeline.errors import AlreadyApplied, Conflict, Refused
from pipeline.money import Money
from pipeline.ports import (
    DealHistory,
    DealQuery,
    NewDeal,
    NewTeam,
    PipelineStore,
    StageEntry,
    StaleQuery,
)
from pipeline.schemas import DealDetail, DealOut, StageChangeOut, StageOut, TeamOut
from pipeline.service import PipelineService
from pipeline.types import DealStatus
from tests.conftest import FrozenClock

T = "T0PURE"
ALICE = "U0ALICE"
BOB = "U0BOB"


class MemoryStore:
    """`PipelineStore` in dictionaries: enough to run the service's rules."""

    def __init__(self) -> None:
        self.team: TeamOut | None = None
        self.deals: dict[int, DealDetail] = {}
        self.operations: dict[str, int | None] = {}
        self.next_number = 1

    def load_team(self) -> TeamOut | None:
        return self.team

    def create_team(self, team: NewTeam, stages: Sequence[StageOut]) -> None:
        if self.team is None:
            self.team = TeamOut(
                id=T,
                timezone=team.timezone,
                currency=team.currency,
                channel_id=None,
                admins=[],
                stages=list(stages),
                rates={},
            )

    def _set(self, **changes: object) -> None:
        assert self.team is not None
        self.team = self.team.model_copy(update=changes)

    def save_settings(self, team: TeamOut) -> None:
        self._set(**team.model_dump(exclude={"stages", "rates"}))

    def save_stages(self, stages: Sequence[StageOut]) -> None:
        self._set(stages=list(stages))

    def save_rate(self, currency: str, rate: Decimal) -> None:
        assert self.team is not None
        self._set(rates={**self.team.rates, currency: rate})

    def count_open_in_stage(self, stage_key: str) -> int:
        return sum(
            d.stage == stage_key and d.status == DealStatus.OPEN for d in self.deals.values()
        )

    def claim_operation(self, key: str, now: datetime) -> bool:
        if key in self.operations:
            return False
        self.operations[key] = None
        return True

    def operation_deal(self, key: str) -> int | None:
        return self.operations.get(key)

    def set_operation_deal(self, key: str, number: int) -> None:
        self.operations[key] = number

    def deal_by_number(self, number: int, *, lock: bool = False) -> DealOut | None:
        deal = self.deals.get(number)
        return None if deal is None else DealOut.model_validate(deal.model_dump())

    def deals_by_name(self, text: str, *, limit: int = 11, lock: bool = False) -> list[DealOut]:
        found = [d for d in self.deals.values() if d.name.lower().startswith(text.lower())]
        found.sort(key=lambda d: (d.name.lower() != text.lower(), -d.number))
        return [DealOut.model_validate(d.model_dump()) for d in found[:limit]]

    def deal_detail(self, number: int) -> DealDetail:
        return self.deals[number]

    def list_deals(self, query: DealQuery) -> list[DealOut]:
        found = [
            DealOut.model_validate(d.model_dump())
            for d in self.deals.values()
            if query.status in (None, d.status) and query.stage in (None, d.stage)
        ]
        found.sort(key=lambda d: (d.last_activity_at, d.number), reverse=True)
        return found[query.offset : query.offset + query.limit]

    def stale_deals(self, query: StaleQuery) -> list[DealOut]:
        raise NotImplementedError

    def allocate_number(self) -> int:
        self.next_number += 1
        return self.next_number - 1

    def insert_deal(self, deal: NewDeal, entered: StageEntry) -> DealOut:
        first = StageChangeOut(
            from_stage=None, to_stage=entered.to_stage, at=entered.at, by=entered.by
        )
        self.deals[deal.number] = DealDetail(
            **vars(deal),
            status=DealStatus.OPEN,
            closed_at=None,
            lost_reason=None,
            last_activity_at=entered.at,
            snoozed_until=None,
            updated_at=entered.at,
            updated_by=entered.by,
            version=1,
            stage_changes=[first],
            activities=[],
            close_date_changes=[],
        )
        return DealOut.model_validate(self.deals[deal.number].model_dump())

    def save_deal(self, deal: DealOut, history: DealHistory | None = None) -> DealOut:
        current = self.deals[deal.number]
        if current.version != deal.version:
            raise Conflict(f"#{deal.number} changed while you were changing it.")
        history = history or DealHistory()
        changes = current.stage_changes
        if history.entered is not None:
            entered = history.entered
            step = StageChangeOut(
                from_stage=changes[-1].to_stage,
                to_stage=entered.to_stage,
                at=entered.at,
                by=entered.by,
            )
            changes = [*changes, step]
        self.deals[deal.number] = DealDetail(
            **{**deal.model_dump(), "version": deal.version + 1},
            stage_changes=changes,
            activities=current.activities + ([history.activity] if history.activity else []),
            close_date_changes=current.close_date_changes
            + ([history.close_date_change] if history.close_date_change else []),
        )
        return DealOut.model_validate(self.deals[deal.number].model_dump())

    def delete_deal(self, deal: DealOut) -> None:
        del self.deals[deal.number]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def svc(store: PipelineStore, clock: FrozenClock) -> PipelineService:
    return PipelineService(store, T, clock=clock)


def test_the_service_imports_no_sql_and_no_storage() -> None:
    code = (
        "import sys, pipeline.service; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'storage')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_deal_lifecycle_in_memory(store: MemoryStore, clock: FrozenClock) -> None:
    p = svc(store, clock)
    deal = p.create("Acme", actor=ALICE, amount=Money(Decimal("1234.565"), "USD"))
    assert (deal.number, deal.stage, deal.amount, deal.currency) == (
        1,
        "lead",
        Decimal("1234.56"),
        "USD",
    )
    clock.advance(days=1)
    assert p.move("acme", "demo", actor=BOB, expected_version=1).version == 2
    assert p.win(1, actor=BOB).status == DealStatus.WON
    history = p.detail("#1").stage_changes
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, "lead"),
        ("lead", "demo"),
        ("demo", "won"),
    ]
    reopened = p.reopen(1, actor=ALICE)
    assert (reopened.stage, reopened.closed_at) == ("demo", None)


def test_stale_version_conflict_names_the_stage(store: MemoryStore, clock: FrozenClock) -> None:
    p = svc(store, clock)
    p.create("Acme", actor=ALICE)
    p.move(1, "proposal", actor=BOB, expected_version=1)
    with pytest.raises(Conflict) as err:
        p.move(1, "demo", actor=ALICE, expected_version=1)
    assert "Proposal" in err.value.message
    assert err.value.current_version == 2


def test_idempotency_and_refusals(store: MemoryStore, clock: FrozenClock) -> None:
    p = svc(store, clock)
    p.create("Acme", actor=ALICE, idempotency_key="k1")
    with pytest.raises(AlreadyApplied) as err:
        p.create("Acme", actor=ALICE, idempotency_key="k1")
    assert err.value.deal_number == 1
    with pytest.raises(Refused, match="1 open deal"):
        p.remove_stage("lead")
    with pytest.raises(Refused, match="last stage"):
        p.advance(p.move(1, "negotiation", actor=ALICE).number, actor=ALICE)


def test_stages_and_settings_in_memory(store: MemoryStore, clock: FrozenClock) -> None:
    p = svc(store, clock)
    p.add_stage("Discovery", 15, 14, before="qualified")
    p.rename_stage("demo", "Product Demo")
    p.remove_stage("negotiation")
    p.set_timezone("Europe/Paris")
    p.set_rate("eur", Decimal("1.1"))
    p.set_admins([ALICE])
    fresh = svc(store, clock)  # a new request sees what the store kept
    assert [(s.key, s.position) for s in fresh.stages()] == [
        ("lead", 0),
        ("discovery", 1),
        ("qualified", 2),
        ("demo", 3),
        ("proposal", 4),
    ]
    assert fresh.resolve_stage("product").key == "demo"
    assert (fresh.team.timezone, fresh.rates(), fresh.admins()) == (
        "Europe/Paris",
        {"EUR": Decimal("1.1")},
        [ALICE],
    )
    assert fresh.tz().key == "Europe/Paris"


def test_a_first_write_of_settings_creates_the_team(store: MemoryStore, clock: FrozenClock) -> None:
    svc(store, clock).set_rate("USD", Decimal("0.9"))
    assert store.team is not None
    assert store.team.rates == {"USD": Decimal("0.9")}
    assert [s.key for s in store.team.stages][:2] == ["lead", "qualified"]
