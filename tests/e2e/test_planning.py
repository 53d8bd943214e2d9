"""Targets, loss reasons and lead sources over signed HTTP, through the fake Slack."""

from __future__ import annotations

import json
from decimal import Decimal

from sandbox.slack_api import DEFAULT_CHANNEL, Ephemeral, View
from tests.e2e.conftest import Bot
from tests.e2e.helpers import (
    ALICE,
    BOB,
    add_deal,
    must,
    open_modal,
    submit_and_wait,
    team,
    view_errors,
    wait,
)
from views.ids import Action, Block, Callback


def say(bot: Bot, user: str, text: str) -> Ephemeral:
    """Type `/deal <text>` and return the ephemeral answer it gets."""
    before = len(bot.fake.ephemerals(user))
    assert bot.slack.command(user, text).status == 200
    bot.fake.wait_until(lambda: len(bot.fake.ephemerals(user)) > before)
    return bot.fake.ephemerals(user)[before]


def home_of(bot: Bot, user: str) -> View:
    """The user's Home tab, opened now and published by the bot."""
    before = len(bot.fake.calls_to("views.publish"))
    bot.slack.open_home(user)
    bot.fake.wait_until(lambda: len(bot.fake.calls_to("views.publish")) > before)
    home = bot.fake.home(user)
    assert home is not None
    return home


def content(message: Ephemeral) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def test_an_admin_sets_team_and_rep_targets_and_anyone_lists_them(bot: Bot) -> None:
    reply = content(say(bot, ALICE, "target 500k 2027-Q1"))
    assert "Target of the team for 2027-Q1: $500K" in reply
    reply = content(say(bot, ALICE, f"target <@{BOB}|bob> 120k 2027-Q1"))
    assert f"Target of <@{BOB}> for 2027-Q1: $120K" in reply
    say(bot, ALICE, f"target <@{BOB}> 130k 2027-Q1")  # replaces, never doubles
    targets = [(t.owner, t.period, t.amount) for t in team(bot).targets]
    assert targets == [
        (None, "2027-Q1", Decimal("500000.00")),
        (BOB, "2027-Q1", Decimal("130000.00")),
    ]
    listed = content(say(bot, BOB, "target"))
    assert "*2027-Q1* · Team: $500K" in listed
    assert f"*2027-Q1* · <@{BOB}>: $130K" in listed
    say(bot, ALICE, f"target clear <@{BOB}> 2027-Q1")
    assert [t.owner for t in team(bot).targets] == [None]


def test_a_rep_cannot_set_a_target_and_a_bad_line_is_refused_quoted(bot: Bot) -> None:
    assert "Only pipeline admins can set targets" in content(say(bot, BOB, "target 5k 2027-Q1"))
    refusal = content(say(bot, ALICE, "target 500 bananas 2027-Q1"))
    assert '"500 bananas"' in refusal
    assert "target 500k 2027-Q1" in refusal
    assert team(bot).targets == []


def test_admins_keep_the_sources_and_a_deal_takes_one_of_them(bot: Bot) -> None:
    refusal = content(say(bot, ALICE, "add Acme 50k source:webinar"))
    assert '"webinar" is not one of the team\'s sources' in refusal
    assert "Only pipeline admins" in content(say(bot, BOB, "config sources add webinar"))
    assert "Added the source `webinar`" in content(say(bot, ALICE, "config sources add Webinar"))
    add_deal(bot, "Acme 50k source:webinar")
    assert must(bot, 1).source == "webinar"
    say(bot, ALICE, "config sources remove webinar")
    assert "webinar" not in team(bot).sources
    assert must(bot, 1).source == "webinar"  # the deal keeps it
    assert "`webinar`" not in content(say(bot, ALICE, "config"))


def test_lost_takes_a_reason_first_and_files_other_text_under_other(bot: Bot) -> None:
    assert "Added the loss reason Legal review (`legal_review`)" in content(
        say(bot, ALICE, "config reasons add Legal review")
    )
    add_deal(bot, "Acme 50k")
    add_deal(bot, "Globex 20k")
    bot.slack.command(ALICE, "lost #1 legal review stuck with their lawyers")
    wait(bot, lambda: must(bot, 1).lost_reason == "legal_review")
    assert must(bot, 1).lost_detail == "stuck with their lawyers"
    note = content(say(bot, ALICE, "lost #2 went with a competitor"))
    assert "Filed under Other" in note
    assert "`price`" in note
    deal = must(bot, 2)
    assert (deal.lost_reason, deal.lost_detail) == ("other", "went with a competitor")


def test_stats_show_losses_by_reason_sources_and_targets(bot: Bot) -> None:
    say(bot, ALICE, f"target <@{ALICE}> 100k {bot.clock.now:%Y}-{bot.clock.now:%m}")
    add_deal(bot, "Acme 50k source:referral")
    bot.slack.command(ALICE, "lost #1 price too high")
    wait(bot, lambda: must(bot, 1).lost_reason == "price")
    bot.clock.advance(hours=1)  # the window ends at now, and the deal closed at now
    stats = content(say(bot, ALICE, "stats"))
    assert "*Losses by reason*" in stats
    assert "Price" in stats
    assert "*Lead sources*" in stats
    assert "referral" in stats
    assert f"*<@{ALICE}>* {bot.clock.now:%Y-%m}: $0 won of $100K (0%)" in stats


def test_an_admin_sets_a_target_from_the_app_home(bot: Bot) -> None:
    home = home_of(bot, ALICE)
    before = len(bot.fake.views_for(ALICE))
    assert bot.slack.click_in_view(ALICE, home.id, Action.SET_TARGET).status == 200
    view = open_modal(bot, ALICE, before)
    assert view.callback_id == Callback.TARGET
    submit_and_wait(bot, ALICE, {Block.PERIOD: "2027-Q5", Block.AMOUNT: "50k"}, view.id)
    assert "2027-Q5" in view_errors(bot, view.id)[Block.PERIOD]
    period = f"{bot.clock.now:%Y}-Q{(bot.clock.now.month - 1) // 3 + 1}"
    submit_and_wait(bot, ALICE, {Block.PERIOD: period, Block.AMOUNT: "€50k"}, view.id)
    assert "targets are in USD" in view_errors(bot, view.id)[Block.AMOUNT]
    submit_and_wait(
        bot, ALICE, {Block.OWNER: ALICE, Block.PERIOD: period, Block.AMOUNT: "80k"}, view.id
    )
    wait(bot, lambda: [t.amount for t in team(bot).targets] == [Decimal("80000.00")])
    wait(bot, lambda: f"{period}: $0 won of $80K" in json.dumps(home_of(bot, ALICE).blocks))


def test_a_rep_sees_their_own_target_on_the_home_and_no_target_button(bot: Bot) -> None:
    month = f"{bot.clock.now:%Y-%m}"
    say(bot, ALICE, f"target <@{BOB}> 40k {month}")
    say(bot, ALICE, f"target <@{ALICE}> 90k {month}")
    home = json.dumps(home_of(bot, BOB).blocks)
    assert f"{month}: $0 won of $40K" in home
    assert "$90K" not in home
    assert Action.SET_TARGET not in home
    assert DEFAULT_CHANNEL  # the commands above ran in the pipeline channel
