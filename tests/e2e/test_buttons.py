"""Deal card buttons end to end: every button, stale and double clicks, retries, other teams."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from slack_sdk import WebClient

from handlers.actions.cards import pushed_close_date
from pipeline.types import DealStatus
from sandbox.blockkit import block_elements
from sandbox.payloads import Delivery
from sandbox.slack_api import DEFAULT_TEAM_ID
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import (
    ALICE,
    BOB,
    CHANNEL,
    add_deal,
    button_value,
    card,
    click_as_shown,
    detail,
    edits,
    ephemerals_for,
    idle,
    must,
    thread_texts,
    wait,
)
from views.cards import build_deal_card, card_text
from views.ids import Action, Callback, Overflow

CAROL = "U0CAROL"
TODAY = date(2026, 11, 27)


def overflow_value(bot: Bot, ts: str, verb: str) -> str:
    """The overflow option of a card for one verb."""
    for block in card(bot, ts).blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == Action.OVERFLOW:
                for option in element["options"]:
                    if option["value"].startswith(f"{verb}:"):
                        return str(option["value"])
    raise LookupError(verb)


def click_and_wait_update(
    bot: Bot, user: str, ts: str, action_id: str, value: object = None
) -> Delivery:
    """Click a channel card and wait until the card was refreshed."""
    before = edits(bot, ts)
    delivery = bot.slack.click(user, CHANNEL, ts, action_id, value=value)
    assert delivery.status == 200
    wait(bot, lambda: edits(bot, ts) > before)
    return delivery


def test_advance_moves_to_the_next_stage_refreshes_the_card_and_notes_the_thread(
    bot: Bot,
) -> None:
    msg = add_deal(bot, "Acme Corp 50k")
    assert button_value(msg.blocks, Action.ADVANCE) == f"1:{must(bot, 1).version}"

    click_and_wait_update(bot, ALICE, msg.ts, Action.ADVANCE)

    deal = must(bot, 1)
    assert deal.stage == "qualified"
    assert [c.to_stage for c in deal.stage_changes] == ["lead", "qualified"]
    assert deal.stage_changes[-1].by == ALICE
    assert "Qualified" in card(bot, msg.ts).text
    assert button_value(card(bot, msg.ts).blocks, Action.ADVANCE) == f"1:{deal.version}"
    assert wait(bot, lambda: thread_texts(bot, msg.ts)) == ["<@U0ALICE> moved #1 to Qualified"]


def test_advance_on_the_last_stage_wins(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 50k negotiation")
    assert must(bot, 1).stage == "negotiation"
    click_and_wait_update(bot, ALICE, msg.ts, Action.ADVANCE)
    assert must(bot, 1).status == DealStatus.WON
    assert "won" in card(bot, msg.ts).text
    assert wait(bot, lambda: thread_texts(bot, msg.ts)) == ["<@U0ALICE> marked #1 won :tada:"]


def test_won_closes_the_deal_and_the_card_loses_its_stage_buttons(bot: Bot) -> None:
    msg = add_deal(bot)
    click_and_wait_update(bot, BOB, msg.ts, Action.WON)
    deal = must(bot, 1)
    assert deal.status == DealStatus.WON
    assert deal.stage_changes[-1].by == BOB
    actions = {e.get("action_id") for _, e in block_elements(card(bot, msg.ts).blocks)}
    assert actions == {Action.LOG, Action.OVERFLOW}
    assert wait(bot, lambda: thread_texts(bot, msg.ts)) == ["<@U0BOB> marked #1 won :tada:"]


def test_overflow_reopen_after_won(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 50k demo")
    click_and_wait_update(bot, ALICE, msg.ts, Action.WON)
    wait(bot, lambda: thread_texts(bot, msg.ts))
    click_and_wait_update(
        bot, ALICE, msg.ts, Action.OVERFLOW, overflow_value(bot, msg.ts, Overflow.REOPEN)
    )
    deal = must(bot, 1)
    assert deal.status == DealStatus.OPEN
    assert deal.stage == "demo"
    assert wait(bot, lambda: len(thread_texts(bot, msg.ts)) == 2 and thread_texts(bot, msg.ts))[
        -1
    ] == ("<@U0ALICE> reopened #1 in Demo")


def test_overflow_push_close_date_a_week(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 50k close:2026-12-15")
    click_and_wait_update(
        bot, ALICE, msg.ts, Action.OVERFLOW, overflow_value(bot, msg.ts, Overflow.PUSH_WEEK)
    )
    deal = must(bot, 1)
    assert deal.close_date == date(2026, 12, 22)
    assert [(c.old_date, c.new_date) for c in deal.close_date_changes][-1] == (
        date(2026, 12, 15),
        date(2026, 12, 22),
    )
    assert "22 Dec 2026" in str(card(bot, msg.ts).blocks)
    idle(bot)
    assert thread_texts(bot, msg.ts) == []  # not a stage change: no thread note


def test_pushing_a_past_or_missing_close_date_starts_from_today() -> None:
    assert pushed_close_date(date(2026, 12, 15), TODAY) == date(2026, 12, 22)
    assert pushed_close_date(date(2026, 11, 1), TODAY) == date(2026, 12, 4)
    assert pushed_close_date(None, TODAY) == date(2026, 12, 4)


def test_overflow_snooze_a_week(bot: Bot) -> None:
    msg = add_deal(bot)
    click_and_wait_update(
        bot, ALICE, msg.ts, Action.OVERFLOW, overflow_value(bot, msg.ts, Overflow.SNOOZE_WEEK)
    )
    assert must(bot, 1).snoozed_until == date(2026, 12, 4)
    assert "snoozed until" in str(card(bot, msg.ts).blocks)


def test_overflow_show_history_is_ephemeral(bot: Bot) -> None:
    msg = add_deal(bot)
    bot.slack.click(
        BOB, CHANNEL, msg.ts, Action.OVERFLOW, value=overflow_value(bot, msg.ts, Overflow.SHOW)
    )
    seen = wait(bot, lambda: bot.fake.ephemerals(BOB))
    assert "*History*" in str(seen[-1].blocks)
    assert "created in Lead" in str(seen[-1].blocks)
    assert edits(bot, msg.ts) == 0


def confirm_delete(bot: Bot, user: str, ts: str) -> None:
    """Choose Delete in a card's menu: a modal asks first; nothing is deleted until submitted."""
    bot.slack.click(
        user, CHANNEL, ts, Action.OVERFLOW, value=overflow_value(bot, ts, Overflow.DELETE)
    )
    views = wait(
        bot, lambda: [v for v in bot.fake.open_views(user) if v.callback_id == Callback.DELETE]
    )
    assert "can't be undone" in str(views[-1].blocks)
    assert detail(bot, 1) is not None
    assert bot.slack.submit(user).status == 200
    idle(bot)


def test_overflow_delete_by_the_owner_asks_then_replaces_the_card(bot: Bot) -> None:
    msg = add_deal(bot)
    confirm_delete(bot, ALICE, msg.ts)
    assert detail(bot, 1) is None
    now = card(bot, msg.ts)
    assert now.text == "#1 Acme Corp was deleted by <@U0ALICE>"
    assert not any(b.get("type") == "actions" for b in now.blocks)


def test_overflow_delete_is_refused_to_someone_else(bot: Bot) -> None:
    msg = add_deal(bot)  # Alice's deal; Bob is neither its owner nor an admin
    bot.slack.click(
        BOB, CHANNEL, msg.ts, Action.OVERFLOW, value=overflow_value(bot, msg.ts, Overflow.DELETE)
    )
    refused = wait(bot, lambda: ephemerals_for(bot, BOB, "belongs to"))
    assert "only they or a pipeline admin can delete it" in refused[0]
    assert bot.fake.open_views(BOB) == []
    assert must(bot, 1).name == "Acme Corp"
    assert edits(bot, msg.ts) == 0


def test_an_admin_may_delete_someone_elses_deal(bot: Bot) -> None:
    msg = add_deal(bot, user=BOB)
    confirm_delete(bot, ALICE, msg.ts)
    assert detail(bot, 1) is None


def test_a_stale_card_changes_nothing_is_refreshed_and_explained(bot: Bot) -> None:
    msg = add_deal(bot)
    bot.slack.command(BOB, "move #1 demo")
    wait(bot, lambda: must(bot, 1).stage == "demo" and len(bot.fake.messages(CHANNEL)) == 2)
    version = must(bot, 1).version

    click_and_wait_update(bot, ALICE, msg.ts, Action.ADVANCE)

    deal = must(bot, 1)
    assert deal.stage == "demo"
    assert deal.version == version
    assert [c.to_stage for c in deal.stage_changes] == ["lead", "demo"]
    assert "Demo" in card(bot, msg.ts).text  # refreshed in place
    assert button_value(card(bot, msg.ts).blocks, Action.ADVANCE) == f"1:{version}"
    told = wait(bot, lambda: ephemerals_for(bot, ALICE, "changed since you saw it"))
    assert "now in Demo" in told[0]
    assert "<@U0BOB>" in told[0]
    idle(bot)
    assert thread_texts(bot, msg.ts) == []


def test_a_double_click_applies_once(bot: Bot) -> None:
    msg = add_deal(bot)
    shown = bot.fake.message_payload(CHANNEL, msg.ts)
    # Both clicks come from the card as first rendered, whichever lands first.
    click_as_shown(bot, ALICE, msg.ts, Action.ADVANCE, shown)
    click_as_shown(bot, ALICE, msg.ts, Action.ADVANCE, shown)
    wait(bot, lambda: thread_texts(bot, msg.ts))
    idle(bot)
    deal = must(bot, 1)
    assert [c.to_stage for c in deal.stage_changes] == ["lead", "qualified"]
    assert thread_texts(bot, msg.ts) == ["<@U0ALICE> moved #1 to Qualified"]
    assert "Qualified" in card(bot, msg.ts).text
    # The second click is the same request (the inbox's window): acked, never run, so the
    # clicker is not told that the card changed under them by their own first click.
    assert ephemerals_for(bot, ALICE) == []


def test_a_click_on_a_card_someone_else_changed_meanwhile_is_refused(bot: Bot) -> None:
    msg = add_deal(bot)
    shown = bot.fake.message_payload(CHANNEL, msg.ts)
    click_as_shown(bot, ALICE, msg.ts, Action.ADVANCE, shown)
    wait(bot, lambda: thread_texts(bot, msg.ts))
    click_as_shown(bot, BOB, msg.ts, Action.ADVANCE, shown)
    wait(bot, lambda: ephemerals_for(bot, BOB, "changed since you saw it"))
    idle(bot)
    assert [c.to_stage for c in must(bot, 1).stage_changes] == ["lead", "qualified"]


def test_a_redelivered_click_applies_once_and_shows_nothing(bot: Bot) -> None:
    msg = add_deal(bot)
    first = click_and_wait_update(bot, ALICE, msg.ts, Action.ADVANCE)
    wait(bot, lambda: thread_texts(bot, msg.ts))
    updates = edits(bot, msg.ts)

    again = bot.slack.redeliver(first)
    assert again.status == 200
    idle(bot)

    deal = must(bot, 1)
    assert [c.to_stage for c in deal.stage_changes] == ["lead", "qualified"]
    assert edits(bot, msg.ts) == updates
    assert thread_texts(bot, msg.ts) == ["<@U0ALICE> moved #1 to Qualified"]
    assert ephemerals_for(bot, ALICE) == []


def test_a_redelivered_modal_button_opens_one_modal(bot: Bot) -> None:
    msg = add_deal(bot)
    first = bot.slack.click(ALICE, CHANNEL, msg.ts, Action.LOST)
    wait(bot, lambda: bot.fake.views_for(ALICE))
    bot.slack.redeliver(first)
    idle(bot)
    assert len(bot.fake.views_for(ALICE)) == 1  # a second views.open would reuse the trigger


def _foreign_click(bot: Bot, ts: str, action_id: str, value: object = None) -> None:
    """A click naming deal #1 from another workspace, aimed at this workspace's card."""
    shown = bot.fake.message_payload(CHANNEL, ts)
    click_as_shown(bot, CAROL, ts, action_id, shown, value=value, team="T0OTHER")


def test_a_click_from_another_team_finds_no_deal_and_leaks_nothing(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 50k")
    before = must(bot, 1)

    _foreign_click(bot, msg.ts, Action.WON)
    _foreign_click(bot, msg.ts, Action.LOST)
    _foreign_click(bot, msg.ts, Action.EDIT)
    _foreign_click(bot, msg.ts, Action.OVERFLOW, overflow_value(bot, msg.ts, Overflow.SHOW))

    told = wait(bot, lambda: len(ephemerals_for(bot, CAROL)) == 4 and ephemerals_for(bot, CAROL))
    assert all("There is no deal #1" in text for text in told)
    seen = str([(e.text, e.blocks) for e in bot.fake.ephemerals(CAROL)])
    assert "Acme" not in seen
    assert bot.fake.views_for(CAROL) == []
    assert must(bot, 1) == before
    assert edits(bot, msg.ts) == 0
    assert detail(bot, 1, team="T0OTHER") is None


def test_an_ephemeral_card_is_replaced_in_place(bot: Bot) -> None:
    add_deal(bot)
    bot.slack.command(ALICE, "show #1")
    shown = wait(bot, lambda: bot.fake.ephemerals(ALICE))[-1]

    bot.slack.click(ALICE, CHANNEL, shown.ts, Action.WON)

    wait(bot, lambda: must(bot, 1).status == DealStatus.WON)
    replaced = wait(bot, lambda: (e := bot.fake.ephemeral(shown.ts)) is not None and e.edits and e)
    assert "won" in replaced.text
    assert len(bot.fake.ephemerals(ALICE)) == 1  # replaced, not added


def test_a_card_in_app_home_applies_the_click_and_republishes_home(bot: Bot) -> None:
    with bot.db.session_scope() as session:
        service = service_in(session, DEFAULT_TEAM_ID, clock=bot.clock)
        deal = service.create("Home Deal", actor=ALICE)
        stages, today = service.stages(), service.today()
    client = WebClient(token="xoxb-test", base_url=bot.fake.api_url)
    home = client.views_publish(
        user_id=ALICE,
        view={"type": "home", "blocks": build_deal_card(deal, stages, today=today)},
    )["view"]

    assert bot.slack.click_in_view(ALICE, home["id"], Action.WON).status == 200

    wait(bot, lambda: must(bot, 1).status == DealStatus.WON)
    assert card_text(must(bot, 1), stages).endswith("won")
    # publish_home rebuilt the tab: the won deal is no longer among Alice's open deals.
    republished = wait(bot, lambda: (h := bot.fake.home(ALICE)) and h.history and h)
    assert "deal_actions:1" not in str(republished.blocks)


def test_list_paging_replaces_the_page(bot: Bot) -> None:
    with bot.db.session_scope() as session:
        service = service_in(session, DEFAULT_TEAM_ID, clock=bot.clock)
        for i in range(12):
            service.create(f"Deal {i:02d}", actor=ALICE)
    bot.slack.command(ALICE, "list")
    page = wait(bot, lambda: bot.fake.ephemerals(ALICE))[-1]
    assert "Showing 1–11" in str(page.blocks)

    bot.slack.click(ALICE, CHANNEL, page.ts, "deal_list_page:next")
    shown = wait(
        bot,
        lambda: (e := bot.fake.ephemeral(page.ts)) and "Showing 12–12" in str(e.blocks) and e,
    )
    assert len(bot.fake.ephemerals(ALICE)) == 1

    bot.slack.click(ALICE, CHANNEL, shown.ts, "deal_list_page:prev")
    wait(bot, lambda: (e := bot.fake.ephemeral(page.ts)) and "Showing 1–11" in str(e.blocks))
    assert len(bot.fake.ephemerals(ALICE)) == 1


def test_amounts_are_kept_by_clicks(bot: Bot) -> None:
    msg = add_deal(bot, "Acme Corp 12.5k EUR")
    click_and_wait_update(bot, ALICE, msg.ts, Action.ADVANCE)
    deal = must(bot, 1)
    assert (deal.amount, deal.currency) == (Decimal("12500.00"), "EUR")
