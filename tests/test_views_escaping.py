"""User text never acts as Slack markup: no mention, broadcast or link survives a view builder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.reminders import Item, Reason
from pipeline.schemas import ActivityOut, CloseDateChangeOut, DealDetail, DealOut, StageOut
from pipeline.types import ActivityKind, DealStatus
from views.cards import build_deal_card, card_text
from views.duplicates import build_duplicate_warning, duplicate_text
from views.history import build_history
from views.lists import build_deal_list
from views.modals import ModalMeta, build_delete_modal
from views.refresh import build_deleted_card, deleted_text
from views.reminders import build_reminder

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
# What a hostile or careless name could carry; pipebot's own mentions use other ids.
TOKENS = ["<!channel>", "<!here>", "<!everyone>", "<@UEVIL>", "<#CEVIL>", "<http://evil.example|x>"]
FORBIDDEN = ("<!channel", "<!here", "<!everyone", "<@UEVIL", "<#CEVIL", "<http://evil")
HOSTILE = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(alphabet="ab &<>|!@#*_~`", max_size=8)),
    min_size=1,
    max_size=5,
).map(lambda parts: "".join(parts).strip() or "<!here>")
STAGES = [
    StageOut(key="lead", name="Lead <!here>", position=0, probability=10, stale_days=14),
    StageOut(key="demo", name="Demo", position=1, probability=40, stale_days=10),
]


def a_deal(text: str, *, status: DealStatus = DealStatus.OPEN, number: int = 12) -> DealDetail:
    return DealDetail(
        number=number,
        name=text,
        amount=Decimal("50000.00"),
        currency="USD",
        owner_id="U0ALICE",
        stage="lead",
        status=status,
        created_at=NOW,
        created_by="U0ALICE",
        closed_at=NOW if status != DealStatus.OPEN else None,
        close_date=TODAY - timedelta(days=3),
        next_step_text=text,
        next_step_due=TODAY - timedelta(days=1),
        lost_reason=text if status == DealStatus.LOST else None,
        source=text,
        last_activity_at=NOW - timedelta(days=40),
        snoozed_until=None,
        updated_at=NOW,
        updated_by="U0BOB",
        version=3,
        stage_changes=[],
        activities=[ActivityOut(kind=ActivityKind.NOTE, text=text, at=NOW, by="U0BOB")],
        close_date_changes=[
            CloseDateChangeOut(old_date=None, new_date=TODAY, at=NOW, by="U0BOB"),
        ],
    )


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            # Ids and values travel back to pipebot; Slack never renders them.
            if key not in ("value", "action_id", "block_id", "private_metadata"):
                yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def rendered(text: str) -> list[Any]:
    """What every builder makes of a deal whose user-typed fields are `text`."""
    deals: list[DealOut] = [
        a_deal(text),
        a_deal(text, status=DealStatus.WON, number=13),
        a_deal(text, status=DealStatus.LOST, number=14),
    ]
    reminder = build_reminder(
        {"U0ALICE": [Item(deal=deals[0], reasons=list(Reason), days_quiet=40)]},
        STAGES,
        today=TODAY,
        title="Follow-ups",
    )
    return [
        *(card_text(d, STAGES) for d in deals),
        *(build_deal_card(d, STAGES, today=TODAY) for d in deals),
        build_deal_list(
            deals, STAGES, today=TODAY, title=text, query=text, offset=11, has_more=True
        ),
        build_history(a_deal(text), STAGES),
        deleted_text(12, text, "U0BOB"),
        build_deleted_card(12, text, "U0BOB"),
        reminder.text,
        reminder.blocks,
        reminder.thread,
        duplicate_text(deals[0], deals[1:]),
        build_duplicate_warning(deals[0], deals[1:]),
        build_delete_modal(deals[0], meta=ModalMeta(number=12, version=3)),
    ]


@settings(max_examples=60, deadline=None)
@given(HOSTILE)
def test_no_special_token_survives_any_builder(text: str) -> None:
    leaks = [s for s in strings(rendered(text)) if any(token in s for token in FORBIDDEN)]
    assert leaks == []


def test_the_check_sees_a_leak() -> None:
    # The builders' own output for a harmless name holds pipebot's real mentions.
    found = list(strings(rendered("Acme")))
    assert any("<@U0ALICE>" in s for s in found)
    assert not any(token in json.dumps(found) for token in FORBIDDEN)
