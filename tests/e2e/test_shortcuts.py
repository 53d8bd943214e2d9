"""Message shortcuts end to end: a deal from a message, and a message logged on a deal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.types import ActivityKind
from sandbox.slack_api import DEFAULT_TEAM_ID, View
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import (
    ALICE,
    BOB,
    CHANNEL,
    cards,
    detail,
    idle,
    must,
    open_modal,
    submit_and_wait,
    view_errors,
    wait,
)
from tests.e2e.test_modals import closed, initial
from views.ids import Block, Callback


def run_shortcut(bot: Bot, text: str, callback_id: str) -> tuple[str, View]:
    """Bob says something; Alice runs the shortcut on it. Returns the message ts and modal."""
    message = bot.fake.post_user_message(CHANNEL, BOB, text)
    before = len(bot.fake.views_for(ALICE))
    delivery = bot.slack.message_shortcut(ALICE, CHANNEL, message.ts, callback_id)
    assert delivery.status == 200
    return message.ts, open_modal(bot, ALICE, before)


def permalink(bot: Bot, ts: str) -> str:
    return f"https://demo.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"


def seed(bot: Bot, *names: str) -> None:
    """Deals straight into the database, one minute of activity apart (the last is newest)."""
    for name in names:
        bot.clock.advance(minutes=1)
        with bot.db.session_scope() as session:
            service_in(session, DEFAULT_TEAM_ID, clock=bot.clock).create(name, actor=ALICE)


# ---------------------------------------------------------------------- deal_from_message


def test_a_deal_from_a_message_is_prefilled_from_it(bot: Bot) -> None:
    _, view = run_shortcut(
        bot,
        "<https://globex.com|Globex> wants 120k EUR of seats\nThey sign by 15/12, says their CFO",
        Callback.FROM_MESSAGE,
    )
    assert view.callback_id == Callback.CREATE
    assert initial(view, Block.NAME) == "Globex wants 120k EUR of seats"
    assert initial(view, Block.AMOUNT) == "120k EUR"
    assert initial(view, Block.CURRENCY) == "EUR"
    assert initial(view, Block.CLOSE_DATE) == "2026-12-15"
    assert initial(view, Block.OWNER) == ALICE


def test_a_deal_from_a_message_keeps_the_messages_link_as_a_note(bot: Bot) -> None:
    ts, view = run_shortcut(bot, "Initech renewal, 40k\nby 2026-12-31", Callback.FROM_MESSAGE)
    submit_and_wait(bot, ALICE, {Block.NAME: "Initech renewal"}, view.id)
    assert closed(bot, view)
    posted = wait(bot, lambda: cards(bot))
    assert posted[0].text.startswith("#1 Initech renewal: $40,000")
    deal = must(bot, 1)
    assert (deal.amount, deal.close_date) == (Decimal("40000.00"), date(2026, 12, 31))
    assert [(a.kind, a.link, a.by) for a in deal.activities] == [
        (ActivityKind.NOTE, permalink(bot, ts), ALICE)
    ]
    assert len(bot.fake.calls_to("chat.getPermalink")) == 1


def test_a_deal_from_a_message_validates_like_new_deal(bot: Bot) -> None:
    _, view = run_shortcut(bot, "Need a quote for 3 seats", Callback.FROM_MESSAGE)
    assert initial(view, Block.AMOUNT) is None  # "3 seats" is no amount
    submit_and_wait(bot, ALICE, {Block.AMOUNT: "three grand"}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.AMOUNT}
    assert detail(bot, 1) is None


def test_a_redelivered_shortcut_opens_one_modal(bot: Bot) -> None:
    message = bot.fake.post_user_message(CHANNEL, BOB, "Hooli, 10k")
    first = bot.slack.message_shortcut(ALICE, CHANNEL, message.ts, Callback.FROM_MESSAGE)
    wait(bot, lambda: bot.fake.views_for(ALICE))
    bot.slack.redeliver(first)
    idle(bot)
    assert len(bot.fake.views_for(ALICE)) == 1


# ---------------------------------------------------------------------- log_to_deal


def test_log_to_deal_offers_open_deals_most_recently_active_first(bot: Bot) -> None:
    seed(bot, "Older", "Newer")
    _, view = run_shortcut(bot, "Spoke with their CFO: budget approved", Callback.LOG_TO_DEAL)
    assert view.callback_id == Callback.LOG_TO_DEAL_SUBMIT
    deal_block = next(b for b in view.blocks if b.get("block_id") == Block.DEAL)
    assert [o["value"] for o in deal_block["element"]["options"]] == ["2", "1"]
    assert initial(view, Block.TEXT) == "Spoke with their CFO: budget approved"
    assert initial(view, Block.KIND) == "note"


def test_log_to_deal_logs_the_message_with_its_link(bot: Bot) -> None:
    seed(bot, "Acme", "Globex")
    ts, view = run_shortcut(bot, "Spoke with their CFO: budget approved", Callback.LOG_TO_DEAL)
    submit_and_wait(bot, ALICE, {Block.DEAL: "1", Block.KIND: "call"}, view.id)
    assert closed(bot, view)
    told = wait(bot, lambda: bot.fake.ephemerals(ALICE))
    assert told[0].text == ":memo: Logged the message as a call on #1 Acme."
    activities = must(bot, 1).activities
    assert [(a.kind, a.text, a.link, a.by) for a in activities] == [
        (ActivityKind.CALL, "Spoke with their CFO: budget approved", permalink(bot, ts), ALICE)
    ]
    assert must(bot, 2).activities == []


def test_log_to_deal_needs_a_deal(bot: Bot) -> None:
    seed(bot, "Acme")
    _, view = run_shortcut(bot, "hello", Callback.LOG_TO_DEAL)
    submit_and_wait(bot, ALICE, {}, view.id)
    assert set(view_errors(bot, view.id)) == {Block.DEAL}
    assert must(bot, 1).activities == []


def test_log_to_deal_on_a_deal_deleted_meanwhile_says_so(bot: Bot) -> None:
    seed(bot, "Acme")
    _, view = run_shortcut(bot, "hello", Callback.LOG_TO_DEAL)
    with bot.db.session_scope() as session:
        service_in(session, DEFAULT_TEAM_ID, clock=bot.clock).delete(1, actor=ALICE)
    submit_and_wait(bot, ALICE, {Block.DEAL: "1"}, view.id)
    assert view_errors(bot, view.id) == {Block.DEAL: "There is no deal #1."}


def test_log_to_deal_submitted_twice_logs_once(bot: Bot) -> None:
    seed(bot, "Acme")
    _, view = run_shortcut(bot, "hello", Callback.LOG_TO_DEAL)
    first = submit_and_wait(bot, ALICE, {Block.DEAL: "1"}, view.id)
    wait(bot, lambda: bot.fake.ephemerals(ALICE))
    bot.slack.redeliver(first)
    idle(bot)
    assert len(must(bot, 1).activities) == 1
    assert len(bot.fake.ephemerals(ALICE)) == 1


def test_log_to_deal_without_open_deals_explains(bot: Bot) -> None:
    _, view = run_shortcut(bot, "hello", Callback.LOG_TO_DEAL)
    assert "submit" not in view.view
    assert "no open deal" in str(view.blocks)
