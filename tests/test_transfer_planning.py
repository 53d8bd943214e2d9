"""Import and export of the planning keys: sources, loss reasons, targets, and each deal's
source, lost reason and detail, exactly as the `pipebot/1` contract says."""

from __future__ import annotations

import copy
import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from pipeline.errors import InvalidInput
from storage.db import Database
from storage.services import service_in
from storage.transfer import export_csv, export_team, import_csv, import_team
from tests.conftest import FrozenClock
from tests.test_planning_metrics import ALICE, BOB, T, build

T2 = "TPLAN2"


def export(db: Database, team: str) -> dict[str, Any]:
    with db.read_scope() as s:
        return export_team(s, team)


def test_the_planning_keys_are_exported_as_the_contract_says(db: Database) -> None:
    build(db)
    with db.session_scope() as s:
        p = service_in(s, T)
        p.add_source("Trade Show")
        p.add_lost_reason("Legal review")
    doc = export(db, T)
    assert doc["sources"] == ["inbound", "outbound", "referral", "partner", "event", "trade_show"]
    assert doc["lost_reasons"][0] == {"key": "price", "name": "Price"}
    assert doc["lost_reasons"][-1] == {"key": "legal_review", "name": "Legal review"}
    assert doc["targets"][:2] == [
        {"owner": None, "period": "2027-Q1", "amount": "100000.00"},
        {"owner": ALICE, "period": "2027-01", "amount": "10000.00"},
    ]
    deals = {d["name"]: d for d in doc["deals"]}
    assert (deals["Delta"]["source"], deals["Delta"]["lost_reason"]) == (None, "price")
    assert deals["Delta"]["lost_detail"] == "too high"
    assert deals["Bravo"]["source"] == "referral"
    assert (deals["Alpha"]["lost_reason"], deals["Alpha"]["lost_detail"]) == (None, None)


def test_round_trip_keeps_every_planning_key(db: Database) -> None:
    build(db)
    first = export(db, T)
    with db.session_scope() as s:
        import_team(s, T2, copy.deepcopy(first))
    second = export(db, T2)
    assert first.pop("team") == T
    assert second.pop("team") == T2
    assert second == first


def test_an_unknown_lost_reason_becomes_other_with_its_text(db: Database) -> None:
    build(db)
    doc = export(db, T)
    lost = next(d for d in doc["deals"] if d["name"] == "Foxtrot")
    lost.update(lost_reason="Ghosted us", lost_detail=None)
    delta = next(d for d in doc["deals"] if d["name"] == "Delta")
    delta.update(lost_reason="Budget cut", lost_detail="in March")
    doc["lost_reasons"] = [{"key": "price", "name": "Price"}, {"key": "other", "name": "Other"}]
    with db.session_scope() as s:
        import_team(s, T2, doc)
    again = {d["name"]: d for d in export(db, T2)["deals"]}
    assert (again["Foxtrot"]["lost_reason"], again["Foxtrot"]["lost_detail"]) == (
        "other",
        "Ghosted us",
    )
    assert (again["Delta"]["lost_reason"], again["Delta"]["lost_detail"]) == (
        "other",
        "Budget cut — in March",
    )


def test_an_old_document_keeps_its_free_text_sources_as_keys_of_the_list(db: Database) -> None:
    build(db)
    doc = export(db, T)
    for key in ("sources", "lost_reasons", "targets"):
        del doc[key]
    doc["deals"][0]["source"] = "Trade Show"
    with db.session_scope() as s:
        import_team(s, T2, doc)
    again = export(db, T2)
    assert again["sources"][-1] == "trade_show"
    assert again["deals"][0]["source"] == "trade_show"
    assert again["targets"] == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            {"targets": [{"owner": None, "period": "2027-Q5", "amount": "5.00"}]},
            "targets[0].period",
        ),
        ({"targets": [{"owner": None, "period": "2027-Q1", "amount": "0"}]}, "targets[0].amount"),
        ({"lost_reasons": [{"key": "", "name": "Price"}]}, "lost_reasons[0].key"),
        ({"sources": ["none"]}, "sources[0]"),
    ],
)
def test_bad_planning_keys_are_refused_naming_where(
    db: Database, change: dict[str, Any], where: str
) -> None:
    build(db)
    doc = {**export(db, T), **change}
    with db.session_scope() as s, pytest.raises(InvalidInput, match=rf"^{re.escape(where)}:"):
        import_team(s, T2, doc)


def test_csv_carries_the_lost_detail_and_the_source_key(db: Database) -> None:
    build(db)
    with db.read_scope() as s:
        text = export_csv(s, T)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows["Echo"]["lost_reason"], rows["Echo"]["lost_detail"]) == (
        "competitor",
        "went with Globex",
    )
    with db.session_scope() as s:
        later = FrozenClock(datetime(2027, 3, 1, tzinfo=UTC))
        import_csv(s, T2, text, actor=BOB, default_currency="EUR", clock=later)
        deals = {d.name: d for d in service_in(s, T2).list_deals()}
    assert (deals["Echo"].lost_reason, deals["Echo"].lost_detail, deals["Echo"].source) == (
        "competitor",
        "went with Globex",
        "inbound",
    )
    assert (deals["Foxtrot"].lost_reason, deals["Foxtrot"].lost_detail) == (
        "other",
        "we never heard back",
    )
    assert deals["Delta"].amount == Decimal("8000.00")
