"""The pure half of export and import: readers and writers, with no database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import InvalidInput, Refused
from pipeline.schemas import StageOut
from pipeline.transfer import CSV_COLUMNS, FORMAT, ImportResult
from pipeline.transfer.csv_export import deals_csv
from pipeline.transfer.csv_import import CsvTeam, check_actor, read_csv
from pipeline.transfer.json_export import team_document
from pipeline.transfer.json_import import DealReader, already_has_deals, read_team
from pipeline.transfer.plan import (
    ActivityRecord,
    CloseDateChangeRecord,
    DealExport,
    DealRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)

ALICE = "U0ALICE"
BOB = "U0BOB"
NOW = datetime(2026, 12, 17, 12, 0, tzinfo=UTC)


def document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "timezone": "europe/paris",
        "currency": "usd",
        "rates": {"eur": "1.08"},
        "stages": [
            {"key": "new", "name": "New", "probability": 10, "stale_days": 7},
            {"key": "demo", "name": "Demo", "probability": 40, "stale_days": 14},
        ],
        "reminders": "09:00 mon-fri",
        "deals": [
            {
                "number": 3,
                "name": "Acme",
                "amount": "1200.5",
                "currency": "eur",
                "owner": ALICE,
                "stage": "demo",
                "status": "won",
                "created_at": "2026-01-05T09:00:00+01:00",
                "closed_at": "2026-02-01T10:00:00Z",
                "history": [
                    {"stage": "new", "at": "2026-01-05T08:00:00Z", "by": BOB},
                    {"stage": "demo", "at": "2026-01-10T08:00:00Z", "by": BOB},
                    {"stage": "won", "at": "2026-02-01T10:00:00Z", "by": ALICE},
                ],
                "activities": [
                    {"kind": "note", "text": "hi", "at": "2026-01-06T08:00:00Z", "by": BOB}
                ],
                "close_date_changes": [
                    {"old": None, "new": "2026-01-31", "at": "2026-01-07T08:00:00Z", "by": BOB}
                ],
            }
        ],
    }


def read_whole(data: dict[str, Any]) -> int:
    """Read a document through, as an import does; the team's next number."""
    deals = DealReader(read_team(data), "T1")
    for _ in deals.batches(1000):
        pass
    return deals.next_number()


def test_read_team_validates_the_team_and_reads_deals_once_as_rows() -> None:
    plan = read_team(document())
    assert plan.settings == {
        "timezone": "Europe/Paris",
        "currency": "USD",
        "reminders": "09:00 mon-fri",
    }
    assert plan.rates == {"EUR": Decimal("1.08")}
    assert [s["key"] for s in plan.stages] == ["new", "demo"]
    deals = DealReader(plan, "T1")
    [[rows]] = list(deals.batches(1000))
    assert (deals.next_number(), deals.counts, deals.numbers) == (4, (3, 1, 1), (3, 3))
    assert rows.deal["team_id"] == "T1"
    assert (rows.deal["amount_cents"], rows.deal["currency"]) == (120050, "EUR")
    assert rows.deal["created_by"] == BOB
    assert rows.deal["updated_by"] == ALICE
    assert [(h["from_stage"], h["to_stage"]) for h in rows.history] == [
        (None, "new"),
        ("new", "demo"),
        ("demo", "won"),
    ]
    assert rows.close_date_changes[0]["new_date"] == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "pipebot/2"}, 'format: "pipebot/2" is not a format I can import'),
        ({"next_number": 3}, "next_number: 3 is not above the highest deal number #3"),
        ({"stages": []}, "stages: is empty"),
    ],
)
def test_read_team_refuses_with_where(change: dict[str, Any], message: str) -> None:
    data = {**document(), **change}
    with pytest.raises(InvalidInput) as err:
        read_whole(data)
    assert err.value.message.startswith(message)


def test_the_refusal_to_import_over_deals_says_how() -> None:
    refusal = already_has_deals("T1")
    assert isinstance(refusal, Refused)
    assert "--replace" in (refusal.example or "")


def team(**changes: Any) -> CsvTeam:
    stages = [
        StageOut(key="lead", name="Lead", position=0, probability=10, stale_days=14),
        StageOut(key="proposal", name="Proposal", position=1, probability=50, stale_days=7),
    ]
    values: dict[str, Any] = {
        "team_id": "T1",
        "stages": stages,
        "tz": ZoneInfo("UTC"),
        "today": NOW.date(),
        "now": NOW,
        "actor": ALICE,
        "currency": "USD",
    }
    return CsvTeam(**{**values, **changes})


def test_read_csv_maps_other_tools_columns() -> None:
    text = (
        "Deal Name;Amount;Deal Stage;Create Date\n"
        "Acme;5000;Proposal;2026-10-01\n"
        "Globex;;Closed Won;2026-09-15\n"
    )
    acme, globex = read_csv(text, team())
    assert (acme.deal["stage"], acme.deal["status"], acme.deal["amount_cents"]) == (
        "proposal",
        "open",
        500000,
    )
    assert acme.deal["number"] == 0
    assert (globex.deal["stage"], globex.deal["status"]) == ("lead", "won")
    assert [h["to_stage"] for h in globex.history] == ["lead", "won"]


def test_read_csv_refuses_with_row_and_column() -> None:
    with pytest.raises(InvalidInput) as err:
        read_csv("Name,Close Date\nAcme,someday soon\n", team())
    assert err.value.message.startswith('row 2, column "Close Date"')
    with pytest.raises(InvalidInput, match="has a header but no deals"):
        read_csv("Name,Amount\n", team())


def test_check_actor() -> None:
    assert check_actor(" U0ALICE ") == ALICE
    with pytest.raises(InvalidInput, match="is not a Slack user id"):
        check_actor("not a user")


def record(number: int) -> DealRecord:
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    return DealRecord(
        id=number * 10,
        number=number,
        name=f"Deal {number}",
        amount_cents=120050,
        currency="EUR",
        owner_id=ALICE,
        stage="new",
        status="open",
        created_at=at,
        created_by=BOB,
        closed_at=None,
        close_date=date(2026, 3, 1),
        next_step_text="call",
        next_step_due=None,
        lost_reason=None,
        source=None,
        last_activity_at=at,
        snoozed_until=None,
        updated_at=at,
        updated_by=BOB,
    )


def test_writers_format_records() -> None:
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    deal = DealExport(
        record(1),
        [StageChangeRecord("new", at, BOB)],
        [ActivityRecord("note", "hi", at, BOB, None)],
        [CloseDateChangeRecord(None, date(2026, 3, 1), at, BOB)],
    )
    team_record = TeamRecord(
        id="T1",
        timezone="UTC",
        currency="USD",
        rates={"GBP": Decimal("1.150"), "EUR": Decimal("1.08")},
        stages=[StageRecord("new", "New", 10, 7)],
        admins=[],
        channel_id=None,
        next_number=2,
        reminders="09:00 mon-fri",
        reminder_mode="channel",
        digest="mon 09:00",
    )
    out = team_document(team_record, [deal])
    assert list(out["rates"].items()) == [("EUR", "1.08"), ("GBP", "1.15")]
    [written] = out["deals"]
    assert (written["amount"], written["created_at"]) == ("1200.50", "2026-01-05T08:00:00Z")
    assert written["next_step"] == {"text": "call", "due": None}
    assert written["close_date_changes"] == [
        {"old": None, "new": "2026-03-01", "at": "2026-01-05T08:00:00Z", "by": BOB}
    ]
    rows = list(csv.reader(io.StringIO(deals_csv([record(1), record(2)]))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == ["1", "2"]


def test_summary() -> None:
    result = ImportResult(deals=1, stage_changes=2, first_number=5, last_number=5, replaced=3)
    assert result.summary() == (
        "Imported 1 deal (#5) with 2 stage changes, 0 activities and 0 close-date changes. "
        "Replaced 3 deals."
    )


STREAMED_TEAM = TeamRecord(
    id="T1",
    timezone="UTC",
    currency="USD",
    rates={"EUR": Decimal("1.08")},
    stages=[StageRecord("new", "New", 10, 7)],
    admins=["U0ADMIN"],
    channel_id=None,
    next_number=4,
    reminders="09:00 mon-fri",
    reminder_mode="channel",
    digest="mon 09:00",
)


@pytest.mark.parametrize("deals", [0, 1, 3])
def test_the_streamed_document_is_the_indented_document(deals: int) -> None:
    from pipeline.transfer.json_export import document_text

    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    exports = [
        DealExport(
            record(n),
            [StageChangeRecord("new", at, BOB)],
            [ActivityRecord("note", "two\nlines, “quoted” é", at, BOB, None)],
            [],
        )
        for n in range(1, deals + 1)
    ]
    whole = team_document(STREAMED_TEAM, exports)
    expected = json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
    assert "".join(document_text(STREAMED_TEAM, exports)) == expected


@pytest.mark.parametrize("deals", [0, 2])
def test_the_streamed_csv_is_the_csv(deals: int) -> None:
    from pipeline.transfer.csv_export import csv_lines

    rows = [record(n) for n in range(1, deals + 1)]
    assert "".join(csv_lines(rows)) == deals_csv(rows)
