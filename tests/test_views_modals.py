"""The modal builders, card splicing and form reading: pure functions, no Slack, no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.views.forms import (
    FormErrors,
    blame,
    read_deal,
    read_fields,
    state_values,
    view_key,
)
from pipeline.errors import AlreadyApplied, Conflict, InvalidInput, NotFound
from pipeline.schemas import DealOut, StageOut
from pipeline.types import DealStatus
from sandbox.blockkit import validate_blocks, validate_view
from views.cards import build_deal_card
from views.ids import Block, Callback
from views.lists import PAGE_SIZE, build_deal_list
from views.modals import (
    CardLocation,
    CreatePrefill,
    MessageRef,
    ModalMeta,
    amount_text,
    build_create_modal,
    build_edit_modal,
    build_log_modal,
    build_log_to_deal_modal,
    build_lost_modal,
    build_snooze_modal,
    message_text,
    prefill_from_message,
    unformatted,
)
from views.refresh import build_deleted_card, card_span, is_whole_card, splice_card

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
LONG = "Ω" * 200
META = ModalMeta(
    number=12,
    version=3,
    channel="C0SALES",
    card=CardLocation(kind="message", channel="C0SALES", ts="1700000000.000100"),
)


def stages(n: int = 5, *, long: bool = False) -> list[StageOut]:
    return [
        StageOut(
            key=f"stage_{i}",
            name=(f"Stage {i} " + "x" * 80)[:80] if long else f"Stage {i}",
            position=i,
            probability=min(100, i * 3),
            stale_days=10,
        )
        for i in range(n)
    ]


def deal(number: int = 12, name: str = "Acme Corp", **changes: Any) -> DealOut:
    base: dict[str, Any] = {
        "number": number,
        "name": name,
        "amount": Decimal("50000.00"),
        "currency": "USD",
        "owner_id": "U0ALICE",
        "stage": "stage_1",
        "status": DealStatus.OPEN,
        "created_at": NOW,
        "created_by": "U0ALICE",
        "closed_at": None,
        "close_date": date(2026, 12, 15),
        "next_step_text": "Send the proposal",
        "next_step_due": date(2026, 12, 1),
        "lost_reason": None,
        "source": "webinar",
        "last_activity_at": NOW,
        "snoozed_until": None,
        "updated_at": NOW,
        "updated_by": "U0ALICE",
        "version": 3,
    }
    base.update(changes)
    return DealOut(**base)


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def initial(view: dict[str, Any], block_id: str) -> Any:
    element = block(view, block_id)["element"]
    for key in ("initial_value", "initial_user", "initial_date"):
        if key in element:
            return element[key]
    option = element.get("initial_option")
    return option["value"] if option else None


def all_views() -> list[tuple[str, dict[str, Any]]]:
    many = [deal(number=i, name=f"{i} " + LONG) for i in range(1, 151)]
    huge = deal(number=10**9, name=LONG, amount=Decimal("999999999999.99"), currency="ISK")
    prefill = CreatePrefill(
        name=LONG, amount="12.5k EUR", currency="EUR", close_date=TODAY, source=MessageRef("C", "1")
    )
    return [
        ("create", build_create_modal(stages(), user_id="U1", currency="USD", meta=META)),
        (
            "create 40 long stages prefilled",
            build_create_modal(
                stages(40, long=True), user_id="U1", currency="JPY", meta=META, prefill=prefill
            ),
        ),
        ("edit", build_edit_modal(deal(), stages(), meta=META)),
        ("edit huge", build_edit_modal(huge, stages(40, long=True), meta=META)),
        (
            "edit bare",
            build_edit_modal(
                deal(
                    amount=None,
                    close_date=None,
                    next_step_text=None,
                    next_step_due=None,
                    source=None,
                ),
                stages(),
                meta=META,
            ),
        ),
        ("lost", build_lost_modal(huge, meta=META)),
        ("log", build_log_modal(huge, meta=META)),
        ("snooze", build_snooze_modal(huge, meta=META, until=TODAY)),
        ("log to deal", build_log_to_deal_modal(many, text="x" * 5000, meta=META)),
        ("log to no deal", build_log_to_deal_modal([], text="hi", meta=META)),
    ]


@pytest.mark.parametrize(("what", "view"), all_views(), ids=[w for w, _ in all_views()])
def test_every_modal_is_valid_block_kit(what: str, view: dict[str, Any]) -> None:
    assert validate_view(view) == []
    assert len(view["private_metadata"]) <= 3000


def test_input_elements_are_the_right_kinds_and_named_by_their_block() -> None:
    view = build_create_modal(stages(), user_id="U1", currency="EUR", meta=META)
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds == {
        "name": "plain_text_input",
        "amount": "plain_text_input",
        "currency": "static_select",
        "stage": "static_select",
        "owner": "users_select",
        "close_date": "datepicker",
        "next_step": "plain_text_input",
        "next_due": "datepicker",
        "source": "static_select",
    }
    for b in view["blocks"]:
        if b["type"] == "input":
            assert b["element"]["action_id"] == b["block_id"]
    assert initial(view, "currency") == "EUR"
    assert initial(view, "owner") == "U1"
    assert initial(view, "stage") == "stage_0"
    optional = {b["block_id"] for b in view["blocks"] if b.get("optional")}
    assert optional == {"amount", "close_date", "next_step", "next_due", "source"}


def test_create_modal_offers_the_teams_currency_even_when_unusual() -> None:
    view = build_create_modal(stages(), user_id="U1", currency="ISK", meta=META)
    values = [o["value"] for o in block(view, "currency")["element"]["options"]]
    assert values[0] == "ISK"
    assert values.count("ISK") == 1
    assert "USD" in values


def test_create_modal_with_forty_stages_offers_them_all() -> None:
    view = build_create_modal(stages(40, long=True), user_id="U1", currency="USD", meta=META)
    options = block(view, "stage")["element"]["options"]
    assert len(options) == 40
    assert all(len(o["text"]["text"]) <= 75 for o in options)


def test_edit_modal_shows_the_deal_as_it_is() -> None:
    view = build_edit_modal(deal(stage="stage_3", currency="GBP"), stages(), meta=META)
    assert view["callback_id"] == Callback.EDIT
    assert view["title"]["text"] == "Edit #12"
    assert initial(view, "name") == "Acme Corp"
    assert initial(view, "amount") == "50000"
    assert initial(view, "currency") == "GBP"
    assert initial(view, "stage") == "stage_3"
    assert initial(view, "close_date") == "2026-12-15"
    assert (initial(view, "next_step"), initial(view, "next_due")) == (
        "Send the proposal",
        "2026-12-01",
    )
    assert initial(view, "source") == "webinar"
    assert ModalMeta.decode(view["private_metadata"]) == META


def test_titles_stay_within_24_characters() -> None:
    huge = deal(number=10**12)
    for view in (
        build_edit_modal(huge, stages(), meta=META),
        build_snooze_modal(huge, meta=META, until=TODAY),
    ):
        assert len(view["title"]["text"]) <= 24


def test_snooze_modal_prefills_the_date() -> None:
    view = build_snooze_modal(deal(), meta=META, until=date(2026, 11, 30))
    assert view["callback_id"] == Callback.SNOOZE
    assert initial(view, "until") == "2026-11-30"


def test_lost_and_log_modals() -> None:
    lost = build_lost_modal(deal(name="<Evil & Co>"), meta=META)
    assert lost["callback_id"] == Callback.LOST
    assert block(lost, "reason")["element"]["type"] == "static_select"
    assert block(lost, "lost_detail")["element"]["multiline"] is True
    assert block(lost, "lost_detail")["optional"] is True
    assert "&lt;Evil &amp; Co&gt;" in json.dumps(lost)
    log = build_log_modal(deal(), meta=META)
    assert log["callback_id"] == Callback.LOG
    kinds = [o["value"] for o in block(log, "kind")["element"]["options"]]
    assert kinds == ["call", "email", "meeting", "note"]


def test_log_to_deal_offers_at_most_a_hundred_deals_and_clips_the_text() -> None:
    many = [deal(number=i, name=f"Deal {i}") for i in range(150, 0, -1)]
    view = build_log_to_deal_modal(many, text="y" * 5000, meta=META)
    options = block(view, "deal")["element"]["options"]
    assert len(options) == 100
    assert options[0]["value"] == "150"
    assert len(initial(view, "text")) == 3000


def test_log_to_deal_without_deals_has_nothing_to_submit() -> None:
    view = build_log_to_deal_modal([], text="hi", meta=META)
    assert "submit" not in view
    assert not any(b["type"] == "input" for b in view["blocks"])


# ---------------------------------------------------------------------- metadata


def test_metadata_round_trips() -> None:
    meta = ModalMeta(
        number=7,
        version=2,
        channel="C1",
        card=CardLocation(
            kind="ephemeral", channel="C1", response_url="https://hooks/x", whole=False
        ),
        source=MessageRef("C2", "1700000000.000200"),
    )
    assert ModalMeta.decode(meta.encode()) == meta
    assert ModalMeta.decode(ModalMeta().encode()) == ModalMeta()


@pytest.mark.parametrize(
    "junk", [None, "", "not json", "[1, 2]", '{"n": "7", "card": 3}', '{"n": "7"}', '{"n": true}']
)
def test_unreadable_metadata_is_empty(junk: str | None) -> None:
    meta = ModalMeta.decode(junk)
    assert (meta.number, meta.card, meta.source) == (None, None, None)


def test_an_oversized_card_location_is_dropped_not_the_deal() -> None:
    meta = ModalMeta(
        number=7, version=2, card=CardLocation(kind="ephemeral", response_url="u" * 4000)
    )
    encoded = meta.encode()
    assert len(encoded) <= 3000
    assert ModalMeta.decode(encoded) == ModalMeta(number=7, version=2)


# ---------------------------------------------------------------------- prefill


def test_prefill_reads_name_amount_and_date_from_a_message() -> None:
    got = prefill_from_message(
        "\n  Globex wants 120k EUR <https://globex.com|see site>\nclose by 15/12",
        currency="USD",
        today=TODAY,
        source=MessageRef("C1", "1.2"),
    )
    assert got == CreatePrefill(
        name="Globex wants 120k EUR see site",
        amount="120k EUR",
        currency="EUR",
        close_date=date(2026, 12, 15),
        source=MessageRef("C1", "1.2"),
    )


def test_prefill_clips_a_long_first_line_and_tolerates_nothing_found() -> None:
    got = prefill_from_message("word " * 100, currency="USD", today=TODAY)
    assert got.name is not None
    assert len(got.name) == 200
    assert (got.amount, got.currency, got.close_date) == (None, None, None)
    assert prefill_from_message("", currency="USD", today=TODAY).name is None


def test_prefill_name_drops_mrkdwn_emphasis() -> None:
    got = prefill_from_message("*Acme Corp* wants _50k_ ~soon~ `now`", currency="USD", today=TODAY)
    assert got.name == "Acme Corp wants 50k soon now"
    assert got.amount == "50k"
    # Not emphasis: a lone star, snake_case words, arithmetic and an unclosed marker stay.
    assert unformatted("5 * 3 = 15, my_deal_name, *open") == "5 * 3 = 15, my_deal_name, *open"


@given(st.text(max_size=60))
def test_unformatted_only_removes_markers(text: str) -> None:
    out = unformatted(text)
    markers = set("*_~`")
    assert [c for c in out if c not in markers] == [c for c in text if c not in markers]


def test_message_text_unwraps_slack_markup() -> None:
    assert message_text("<https://a.b|Acme> &amp; <mailto:x@y.z> &lt;3") == "Acme & mailto:x@y.z <3"


def test_amount_text_is_what_parse_amount_reads_back() -> None:
    assert amount_text(Decimal("50000.00")) == "50000"
    assert amount_text(Decimal("12500.50")) == "12500.50"
    assert amount_text(None) is None


# ---------------------------------------------------------------------- card refresh


def test_splice_replaces_one_card_inside_a_bigger_message() -> None:
    one = build_deal_card(deal(number=1), stages(), today=TODAY)
    two = build_deal_card(deal(number=2), stages(), today=TODAY)
    header = {"type": "section", "block_id": "h", "text": {"type": "mrkdwn", "text": "*List*"}}
    divider: dict[str, Any] = {"type": "divider"}
    message: list[dict[str, Any]] = [header, divider, *one, divider, *two]
    assert card_span(message, 2) == (6, 9)
    assert not is_whole_card(message, 1)
    assert is_whole_card(one, 1)
    gone = build_deleted_card(2, "Beta", "U0BOB")
    spliced = splice_card(message, 2, gone)
    assert spliced == [header, divider, *one, divider, *gone]
    assert validate_blocks(spliced) == []
    assert splice_card(message, 3, gone) is None


def test_a_deleted_card_is_valid_and_escaped() -> None:
    blocks = build_deleted_card(9, "<Evil>", "U1")
    assert validate_blocks(blocks) == []
    assert "&lt;Evil&gt;" in json.dumps(blocks)


# ---------------------------------------------------------------------- form reading


def state(**values: dict[str, Any]) -> dict[str, Any]:
    return {"state": {"values": {k: {k: v} for k, v in values.items()}}, "id": "V1", "hash": "h"}


def test_state_values_reads_every_element_kind() -> None:
    view = state(
        name={"type": "plain_text_input", "value": "  Acme  "},
        stage={"type": "static_select", "selected_option": {"value": "demo"}},
        owner={"type": "users_select", "selected_user": "U0BOB"},
        close_date={"type": "datepicker", "selected_date": "2026-12-31"},
        source={"type": "plain_text_input", "value": "   "},
        currency={"type": "static_select", "selected_option": None},
    )
    assert state_values(view) == {
        "name": "Acme",
        "stage": "demo",
        "owner": "U0BOB",
        "close_date": "2026-12-31",
        "source": None,
        "currency": None,
    }
    fields = read_fields(view)
    assert fields.close_date == date(2026, 12, 31)
    assert view_key(view) == "view:V1:h"


def test_read_deal_reports_every_problem_at_once() -> None:
    view = state(
        name={"type": "plain_text_input", "value": ""},
        amount={"type": "plain_text_input", "value": "heaps"},
        next_step={"type": "plain_text_input", "value": "Call"},
    )
    with pytest.raises(FormErrors) as caught:
        read_deal(read_fields(view), default_currency="USD", today=NOW.date())
    assert set(caught.value.errors) == {"name", "amount", "next_due"}


def test_read_deal_uses_the_selected_currency() -> None:
    view = state(
        name={"type": "plain_text_input", "value": "Acme"},
        amount={"type": "plain_text_input", "value": "12.5k"},
        currency={"type": "static_select", "selected_option": {"value": "EUR"}},
    )
    form = read_deal(read_fields(view), default_currency="USD", today=NOW.date())
    assert form.amount is not None
    assert (form.amount.amount, form.amount.currency) == (Decimal("12500.00"), "EUR")


def test_an_unreadable_date_is_an_error_on_its_input() -> None:
    view = state(close_date={"type": "datepicker", "selected_date": "31/02"})
    with pytest.raises(FormErrors) as caught:
        read_fields(view)
    assert set(caught.value.errors) == {"close_date"}


def test_blame_maps_fields_else_the_given_block_and_lets_replays_through() -> None:
    with pytest.raises(FormErrors) as caught, blame(Block.NAME):
        raise InvalidInput("bad amount", field="amount")
    assert caught.value.errors == {"amount": "bad amount"}
    with pytest.raises(FormErrors) as caught, blame(Block.STAGE):
        raise NotFound('There is no stage "x".')
    assert caught.value.errors == {"stage": 'There is no stage "x".'}
    with pytest.raises(FormErrors) as caught, blame(Block.NAME):
        raise Conflict("changed")
    assert caught.value.errors == {"name": "changed"}
    with pytest.raises(AlreadyApplied), blame(Block.NAME):
        raise AlreadyApplied("done")


def test_a_full_list_page_with_paging_fits_a_message() -> None:
    page = [deal(number=i, name=LONG) for i in range(PAGE_SIZE)]
    blocks = build_deal_list(
        page, stages(), today=TODAY, title="Open deals", query="all", offset=11, has_more=True
    )
    assert validate_blocks(blocks) == []
