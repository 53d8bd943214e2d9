"""Modals end to end: New deal, Edit, Lost, Log activity and Snooze, valid and invalid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from json import dumps
from typing import Any

from pipeline.types import ActivityKind, DealStatus
from sandbox.payloads import FORM, encode_interaction, view_submission
from sandbox.slack_api import DEFAULT_TEAM_ID, View
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import (
    ALICE,
    BOB,
    CHANNEL,
    add_deal,
    card,
    cards,
    detail,
    edits,
    idle,
    input_element,
    must,
    open_modal,
    submit_and_wait,
    team,
    thread_texts,
    view_errors,
    wait,
)
from views.ids import Action, Block, Callback


def initial(view: View, block_id: str) -> Any:
    """What an input starts with."""
    block = next(b for b in view.blocks if b.get("block_id") == block_id)
    element = block["element"]
    for key in ("initial_value", "initial_user", "initial_date"):
        if key in element:
            return element[key]
    option = element.get("initial_option")
    return option["value"] if option else None


def open_create(bot: Bot, user: str = ALICE) -> View:
    before = len(bot.fake.views_for(user))
    bot.slack.command(user, "add")
    return open_modal(bot, user, before)


def click_for_modal(bot: Bot, user: str, ts: str, action_id: str) -> View:
    before = len(bot.fake.views_for(user))
    bot.slack.click(user, CHANNEL, ts, action_id)
    return open_modal(bot, user, before)


def closed(bot: Bot, view: View) -> bool:
    found = bot.fake.view(view.id)
    return found is not None and not found.open


# ---------------------------------------------------------------------- New deal


def test_deal_add_alone_opens_the_new_deal_modal_with_defaults(bot: Bot) -> None:
    view = open_create(bot)
    assert view.callback_id == Callback.CREATE
    assert initial(view, Block.CURRENCY) == "USD"
    assert initial(view, Block.OWNER) == ALICE
    assert initial(view, Block.STAGE) == "lead"
    kinds = {b["block_id"]: b["element"]["type"] for b in view.blocks if b["type"] == "input"}
    assert kinds == {
        Block.NAME: "plain_text_input",
        Block.AMOUNT: "plain_text_input",
        Block.CURRENCY: "static_select",
        Block.STAGE: "static_select",
        Block.OWNER: "users_select",
        Block.CLOSE_DATE: "datepicker",
        Block.NEXT_STEP: "plain_text_input",
        Block.NEXT_DUE: "datepicker",
        Block.SOURCE: "static_select",
    }


def test_a_valid_new_deal_is_created_and_its_card_posted_where_asked(bot: Bot) -> None:
    view = open_create(bot)
    submit_and_wait(
        bot,
        ALICE,
        {
            Block.NAME: "Globex",
            Block.AMOUNT: "12.5k",
            Block.CURRENCY: "EUR",
            Block.STAGE: "demo",
            Block.OWNER: BOB,
            Block.CLOSE_DATE: "2026-12-31",
            Block.NEXT_STEP: "Send the proposal",
            Block.NEXT_DUE: "2026-12-04",
            Block.SOURCE: "referral",
        },
        view.id,
    )
    assert closed(bot, view)
    posted = wait(bot, lambda: cards(bot))
    assert posted[0].text == "#1 Globex: €12,500, Demo (40%)"
    deal = must(bot, 1)
    assert (deal.name, deal.amount, deal.currency) == ("Globex", Decimal("12500.00"), "EUR")
    assert (deal.stage, deal.owner_id, deal.created_by) == ("demo", BOB, ALICE)
    assert deal.close_date == date(2026, 12, 31)
    assert (deal.next_step_text, deal.next_step_due) == ("Send the proposal", date(2026, 12, 4))
    assert deal.source == "referral"


def test_an_amount_with_its_own_currency_wins_over_the_select(bot: Bot) -> None:
    view = open_create(bot)
    submit_and_wait(bot, ALICE, {Block.NAME: "Initech", Block.AMOUNT: "£3,000"}, view.id)
    wait(bot, lambda: cards(bot))
    deal = must(bot, 1)
    assert (deal.amount, deal.currency) == (Decimal("3000.00"), "GBP")


def test_invalid_fields_show_on_their_inputs_and_a_fix_then_goes_through(bot: Bot) -> None:
    view = open_create(bot)
    submit_and_wait(bot, ALICE, {Block.NAME: "   ", Block.AMOUNT: "lots of money"}, view.id)
    errors = view_errors(bot, view.id)
    assert set(errors) == {Block.NAME, Block.AMOUNT}
    assert "lots of money" in errors[Block.AMOUNT]
    assert not closed(bot, view)
    assert detail(bot, 1) is None

    submit_and_wait(bot, ALICE, {Block.NAME: "Globex", Block.AMOUNT: "50k"}, view.id)
    assert closed(bot, view)
    wait(bot, lambda: cards(bot))
    assert must(bot, 1).amount == Decimal("50000.00")


def test_a_next_step_needs_its_due_date_and_the_reverse(bot: Bot) -> None:
    view = open_create(bot)
    submit_and_wait(bot, ALICE, {Block.NAME: "Globex", Block.NEXT_STEP: "Call back"}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.NEXT_DUE}
    submit_and_wait(
        bot,
        ALICE,
        {Block.NAME: "Globex", Block.NEXT_STEP: None, Block.NEXT_DUE: "2026-12-01"},
        view.id,
    )
    assert set(view_errors(bot, view.id)) == {Block.NEXT_STEP}
    assert detail(bot, 1) is None


def test_an_unknown_stage_is_an_error_on_the_stage(bot: Bot) -> None:
    view = open_create(bot)
    ghost = {"text": {"type": "plain_text", "text": "Ghost"}, "value": "ghost"}
    submit_and_wait(bot, ALICE, {Block.NAME: "Globex", Block.STAGE: ghost}, view.id)
    errors = view_errors(bot, view.id)
    assert set(errors) == {Block.STAGE}
    assert 'no stage "ghost"' in errors[Block.STAGE]
    assert detail(bot, 1) is None


def test_a_domain_refusal_lands_on_its_field(bot: Bot) -> None:
    view = open_create(bot)
    submit_and_wait(bot, ALICE, {Block.NAME: "#42", Block.AMOUNT: "9999999999999999"}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.AMOUNT}  # checked before the database
    submit_and_wait(bot, ALICE, {Block.NAME: "#42", Block.AMOUNT: "5k"}, view.id)
    assert "reads as a deal number" in view_errors(bot, view.id)[Block.NAME]
    assert detail(bot, 1) is None


def test_a_duplicate_submission_creates_one_deal(bot: Bot) -> None:
    view = open_create(bot)
    first = submit_and_wait(bot, ALICE, {Block.NAME: "Globex"}, view.id)
    wait(bot, lambda: cards(bot))
    assert bot.slack.redeliver(first).status == 200
    idle(bot)
    assert len(cards(bot)) == 1
    assert detail(bot, 2) is None


# ---------------------------------------------------------------------- Edit


def test_edit_from_the_card_updates_it_in_place(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 50k close:2026-12-15")
    view = click_for_modal(bot, ALICE, msg.ts, Action.EDIT)
    assert view.callback_id == Callback.EDIT
    assert (initial(view, Block.NAME), initial(view, Block.AMOUNT)) == ("Acme Corp", "50000")
    assert initial(view, Block.CLOSE_DATE) == "2026-12-15"

    submit_and_wait(
        bot,
        ALICE,
        {
            Block.NAME: "Acme Corporation",
            Block.AMOUNT: "60k",
            Block.STAGE: "demo",
            Block.SOURCE: "referral",
        },
        view.id,
    )

    assert closed(bot, view)
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    deal = must(bot, 1)
    assert (deal.name, deal.amount, deal.stage, deal.source) == (
        "Acme Corporation",
        Decimal("60000.00"),
        "demo",
        "referral",
    )
    assert deal.close_date == date(2026, 12, 15)
    assert card(bot, msg.ts).text == "#1 Acme Corporation: $60,000, Demo (40%)"
    assert wait(bot, lambda: thread_texts(bot, msg.ts)) == ["<@U0ALICE> moved #1 to Demo"]
    assert len(cards(bot)) == 1


def test_edit_of_a_deal_changed_meanwhile_says_who_changed_it(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.EDIT)
    bot.slack.command(BOB, "move #1 demo")
    wait(bot, lambda: must(bot, 1).stage == "demo")

    submit_and_wait(bot, ALICE, {Block.NAME: "Renamed"}, view.id)

    errors = view_errors(bot, view.id)
    assert set(errors) == {Block.NAME}
    assert "changed since you saw it" in errors[Block.NAME]
    assert "now in Demo" in errors[Block.NAME]
    assert "@bob" in errors[Block.NAME]
    assert "<@" not in errors[Block.NAME]
    assert must(bot, 1).name == "Acme Corp"


def test_edit_giving_away_someone_elses_deal_is_refused_on_the_owner(bot: Bot) -> None:
    msg = add_deal(bot)  # Alice's
    view = click_for_modal(bot, BOB, msg.ts, Action.EDIT)
    submit_and_wait(bot, BOB, {Block.NAME: "Bob's now", Block.OWNER: BOB}, view.id)
    errors = view_errors(bot, view.id)
    assert set(errors) == {Block.OWNER}
    assert "belongs to @alice" in errors[Block.OWNER]
    deal = must(bot, 1)
    assert (deal.name, deal.owner_id) == ("Acme Corp", ALICE)  # one transaction: nothing kept


# ---------------------------------------------------------------------- Lost


def test_lost_asks_for_the_reason_and_closes_the_deal(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOST)
    assert view.callback_id == Callback.LOST
    offered = [o["value"] for o in input_element(view, Block.REASON)["options"]]
    assert offered == [
        "price",
        "competitor",
        "no_budget",
        "no_decision",
        "timing",
        "lost_contact",
        "other",
    ]
    submit_and_wait(
        bot, ALICE, {Block.REASON: "competitor", Block.LOST_DETAIL: "Went with <Globex>"}, view.id
    )
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    deal = must(bot, 1)
    assert (deal.status, deal.lost_reason, deal.lost_detail) == (
        DealStatus.LOST,
        "competitor",
        "Went with <Globex>",
    )
    assert "Competitor — Went with &lt;Globex&gt;" in card(bot, msg.ts).text + dumps(
        card(bot, msg.ts).blocks, ensure_ascii=False
    )
    assert wait(bot, lambda: thread_texts(bot, msg.ts)) == [
        "<@U0ALICE> marked #1 lost: Competitor — Went with &lt;Globex&gt;"
    ]


def test_lost_with_a_reason_taken_off_the_list_meanwhile_is_an_error_on_the_reason(
    bot: Bot,
) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOST)
    bot.slack.command(ALICE, "config reasons remove timing")
    wait(bot, lambda: "timing" not in [r.key for r in team(bot).lost_reasons])
    submit_and_wait(bot, ALICE, {Block.REASON: "timing"}, view.id)
    assert "not a loss reason" in view_errors(bot, view.id)[Block.REASON]
    assert must(bot, 1).status == DealStatus.OPEN


def test_lost_on_a_deal_won_meanwhile_is_refused(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOST)
    bot.slack.command(BOB, "won #1")
    wait(bot, lambda: must(bot, 1).status == DealStatus.WON)
    submit_and_wait(bot, ALICE, {Block.REASON: "no_budget"}, view.id)
    error = view_errors(bot, view.id)[Block.REASON]
    assert "is now won" in error
    assert "@bob" in error
    assert must(bot, 1).status == DealStatus.WON


def test_deal_lost_command_without_reason_uses_the_modal_and_posts_the_card(bot: Bot) -> None:
    add_deal(bot)
    before = len(bot.fake.views_for(ALICE))
    bot.slack.command(ALICE, "lost #1")
    view = open_modal(bot, ALICE, before)
    submit_and_wait(bot, ALICE, {Block.REASON: "timing"}, view.id)
    posted = wait(bot, lambda: len(cards(bot)) == 2 and cards(bot))
    assert "lost" in posted[1].text
    assert wait(bot, lambda: thread_texts(bot, posted[1].ts)) == [
        "<@U0ALICE> marked #1 lost: Timing"
    ]
    assert must(bot, 1).lost_reason == "timing"


def test_a_lost_submission_from_another_team_finds_no_deal(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOST)
    bot.fake.set_view_state(
        view.id, {"reason": {"reason": {"type": "plain_text_input", "value": "Spite"}}}
    )
    # The same modal as opened in another workspace: Bolt takes the tenant from the view's
    # installation, and private_metadata only ever holds what our own modal put there.
    foreign = {**bot.fake.view_payload(view.id), "team_id": "T0OTHER"}
    foreign["app_installed_team_id"] = "T0OTHER"
    payload = view_submission(
        user_id="U0CAROL",
        view=foreign,
        trigger_id=bot.fake.new_trigger_id("U0CAROL"),
        team_id="T0OTHER",
    )
    delivery = bot.slack.post(bot.slack.interactivity_url, encode_interaction(payload), FORM)
    answer = delivery.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {Block.REASON: "There is no deal #1."}
    idle(bot)
    assert must(bot, 1).status == DealStatus.OPEN
    assert edits(bot, msg.ts) == 0


# ---------------------------------------------------------------------- Log activity


def test_log_activity_records_it_and_refreshes_the_card(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, BOB, msg.ts, Action.LOG)
    assert view.callback_id == Callback.LOG
    submit_and_wait(bot, BOB, {Block.KIND: "meeting", Block.TEXT: "Demo with their CTO"}, view.id)
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    activities = must(bot, 1).activities
    assert [(a.kind, a.text, a.by) for a in activities] == [
        (ActivityKind.MEETING, "Demo with their CTO", BOB)
    ]


def test_log_activity_needs_text(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOG)
    submit_and_wait(bot, ALICE, {Block.TEXT: None}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.TEXT}
    assert must(bot, 1).activities == []


def test_log_activity_submitted_twice_logs_once(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.LOG)
    first = submit_and_wait(bot, ALICE, {Block.TEXT: "Called"}, view.id)
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    bot.slack.redeliver(first)
    idle(bot)
    assert len(must(bot, 1).activities) == 1


# ---------------------------------------------------------------------- Snooze


def test_snooze_opens_a_date_three_days_ahead_and_snoozes(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.SNOOZE)
    assert view.callback_id == Callback.SNOOZE
    assert initial(view, Block.UNTIL) == "2026-11-30"
    submit_and_wait(bot, ALICE, {}, view.id)
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    assert must(bot, 1).snoozed_until == date(2026, 11, 30)
    assert "snoozed until Mon 30 Nov 2026" in str(card(bot, msg.ts).blocks)


def test_snooze_into_the_past_is_an_error_on_the_date(bot: Bot) -> None:
    msg = add_deal(bot)
    view = click_for_modal(bot, ALICE, msg.ts, Action.SNOOZE)
    submit_and_wait(bot, ALICE, {Block.UNTIL: "2026-11-01"}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.UNTIL}
    assert must(bot, 1).snoozed_until is None


def test_a_stale_card_opens_no_modal(bot: Bot) -> None:
    msg = add_deal(bot)
    bot.slack.command(BOB, "move #1 demo")
    wait(bot, lambda: must(bot, 1).stage == "demo")
    bot.slack.click(ALICE, CHANNEL, msg.ts, Action.LOST)
    wait(bot, lambda: edits(bot, msg.ts) == 1)
    wait(bot, lambda: [e for e in bot.fake.ephemerals(ALICE) if "changed since" in e.text])
    assert bot.fake.views_for(ALICE) == []


def test_a_planned_date_in_the_past_is_refused_on_its_field_but_an_untouched_one_stays(
    bot: Bot,
) -> None:
    view = open_create(bot)
    past = {Block.NAME: "Globex", Block.CLOSE_DATE: "2020-01-01"}
    submit_and_wait(bot, ALICE, past, view.id)
    errors = view_errors(bot, view.id)
    assert set(errors) == {Block.CLOSE_DATE}
    assert "Wed 1 Jan 2020 is in the past" in errors[Block.CLOSE_DATE]
    assert detail(bot, 1) is None
    # A deal whose close date has since passed can still be edited without moving it.
    with bot.db.session_scope() as s:
        service_in(s, DEFAULT_TEAM_ID, clock=bot.clock).create(
            "Initech", actor=ALICE, close_date=bot.clock().date()
        )
    bot.clock.advance(days=3)
    before = len(bot.fake.views_for(ALICE))
    bot.slack.command(ALICE, "edit #1")
    edit = open_modal(bot, ALICE, before)
    submit_and_wait(bot, ALICE, {Block.NAME: "Initech Corp"}, edit.id)
    assert closed(bot, edit)
    assert must(bot, 1).name == "Initech Corp"
