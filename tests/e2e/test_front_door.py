"""Trust at the front door: every /deal line is understood or refused with nothing written,
every documented command works, user text never acts as markup, destructive clicks confirm."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from handlers.commands.add_line import AddLine
from pipeline.money import Money
from pipeline.schemas import DealOut
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, BOB, add_deal, idle, must, wait
from tests.test_add_line import AMOUNTS, GARBAGE, NAMES, lines
from views.common import esc
from views.help import HELP
from views.ids import Action, Block, Callback


def said(bot: Bot, user: str = ALICE) -> str:
    return "\n".join(e.text + " " + str(e.blocks) for e in bot.fake.ephemerals(user))


def deal_count(bot: Bot) -> int:
    with bot.db.read_scope() as s:
        return len(service_in(s, DEFAULT_TEAM_ID, clock=bot.clock).list_deals(status=None))


def run(bot: Bot, text: str, user: str = ALICE) -> str:
    """Send `/deal <text>`, wait for the work it started, and return what the user was told."""
    before = len(bot.fake.ephemerals(user))
    assert bot.slack.command(user, text).status == 200
    idle(bot)
    return "\n".join(e.text for e in bot.fake.ephemerals(user)[before:])


@pytest.mark.parametrize(
    ("line", "quoted"),
    [
        ("add Foo 50k banana", '"banana"'),
        ("add Bar 12kk", '"12kk"'),
        ("add Baz -50k", '"-50k"'),
        ("add Qux 50k XYZ lead", '"XYZ"'),
        ("add 50k", '"50k"'),
        ("add " + "N" * 250, "The deal name is 250 characters long; the limit is 200."),
        ("add " + "N" * 5000, "The deal name is 5,000 characters long; the limit is 200."),
        ("add Acme close:2020-01-01", "Wed 1 Jan 2020 is in the past"),
        ("add Acme close:2040-01-01", "more than 5 years ahead"),
        ("add Acme next:call them by 2019-01-01", "Tue 1 Jan 2019 is in the past"),
    ],
)
def test_a_line_not_understood_is_refused_and_nothing_is_written(
    bot: Bot, line: str, quoted: str
) -> None:
    answer = run(bot, line)
    assert quoted in answer
    assert "Example:" in answer
    assert deal_count(bot) == 0
    assert bot.fake.messages(DEFAULT_CHANNEL) == []


def test_a_next_step_in_the_past_is_refused_and_the_confirmation_shows_the_year(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k")
    answer = run(bot, "next #1 call them by 2019-01-01")
    assert "Tue 1 Jan 2019 is in the past" in answer
    answer = run(bot, "next #1 call them by 2027-01-08")
    assert "(by Fri 8 Jan 2027)" in answer
    answer = run(bot, "next #1 call them by 2026-12-04")
    assert "(by Fri 4 Dec)" in answer


def test_a_duplicate_name_is_created_but_flagged_with_a_delete_button(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k")
    answer = run(bot, "add ACME, Inc. 20k")
    assert deal_count(bot) == 2
    assert "#1 Acme Corp" in answer
    warning = next(e for e in bot.fake.ephemerals(ALICE) if "#1 Acme Corp" in e.text)
    buttons = [
        el for b in warning.blocks for el in b.get("elements") or [] if el.get("type") == "button"
    ]
    assert [(b["action_id"], b["value"].split(":")[0]) for b in buttons] == [
        (Action.DELETE_DUPLICATE, "2")
    ]
    assert buttons[0]["confirm"]


def test_every_command_the_help_lists_is_a_command(bot: Bot) -> None:
    verbs = sorted({m for _, text in HELP for m in re.findall(r"`/deal (\w+)", text)})
    assert "edit" in verbs
    for verb in verbs:
        answer = run(bot, verb)
        assert "is not a /deal command" not in answer, verb


def test_edit_opens_the_edit_form(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k")
    run(bot, "edit #1")
    views = bot.fake.views_for(ALICE)
    assert [v.callback_id for v in views] == [Callback.EDIT]


def buttons_of(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        el["action_id"]: el for b in blocks for el in b.get("elements") or [] if "action_id" in el
    }


def test_won_asks_for_confirmation_and_delete_opens_a_confirmation(bot: Bot) -> None:
    message = add_deal(bot, "Acme Corp 50k")
    card_buttons = buttons_of(message.blocks)
    assert card_buttons[Action.WON]["confirm"]["confirm"]["text"] == "Mark won"
    assert card_buttons[Action.LOST]  # Lost opens its modal, which asks for the reason


def test_a_name_cannot_ping_the_channel(bot: Bot) -> None:
    message = add_deal(bot, "Ping <!channel> Co 5k")
    assert "<!channel>" not in message.text
    assert "&lt;!channel&gt;" in message.text


def test_list_of_someone_shows_a_real_mention(bot: Bot) -> None:
    add_deal(bot, "Acme Corp 50k <@U0BOB|bob>")
    run(bot, "list <@U0BOB|bob>")
    assert "<@U0BOB>" in said(bot)
    assert "&lt;@U0BOB&gt;" not in said(bot)
    assert BOB


# --- round trips through the bot: line -> stored deal -> card ------------------------------


def newest(bot: Bot) -> DealOut | None:
    with bot.db.read_scope() as s:
        deals = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock).list_deals(status=None, limit=1000)
    return max(deals, key=lambda d: d.number) if deals else None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=lines())
def test_a_valid_line_is_stored_as_meant_and_its_card_shows_it(
    bot: Bot, line: tuple[str, AddLine]
) -> None:
    text, meant = line
    with bot.db.session_scope() as s:  # the grammar tests' pipeline: the default one and one more
        p = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock)
        if "contract_sent" not in {stage.key for stage in p.stages()}:
            p.add_stage("Contract Sent", 90, 5)
    before = newest(bot)
    answer = run(bot, f"add {text}")
    assert "Example:" not in answer
    deal = newest(bot)
    assert deal is not None
    assert before is None or deal.number == before.number + 1
    assert (deal.name, deal.owner_id) == (meant.name, meant.owner or ALICE)
    assert deal.stage == (meant.stage or "lead")
    assert (deal.amount, deal.currency) == (
        (meant.amount.amount, meant.amount.currency) if meant.amount else (None, "USD")
    )
    assert deal.close_date == meant.close
    card = next(m for m in bot.fake.messages(DEFAULT_CHANNEL) if f"#{deal.number} " in m.text)
    assert esc(meant.name) in card.text


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES, amount=AMOUNTS, garbage=GARBAGE)
def test_a_line_with_a_word_not_understood_writes_nothing(
    bot: Bot, name: str, amount: tuple[str, Money], garbage: str
) -> None:
    before = deal_count(bot)
    answer = run(bot, f"add {name} {amount[0]} {garbage}")
    assert "Example:" in answer
    assert deal_count(bot) == before


def test_the_new_deal_form_flags_a_duplicate_and_its_button_deletes_the_new_deal(
    bot: Bot,
) -> None:
    add_deal(bot, "Acme Corp 50k")
    before = len(bot.fake.views_for(ALICE))
    bot.slack.command(ALICE, "add")
    wait(bot, lambda: len(bot.fake.views_for(ALICE)) > before)
    assert bot.slack.submit(ALICE, {Block.NAME: "acme corp."}).status == 200
    idle(bot)
    warning = next(e for e in bot.fake.ephemerals(ALICE) if "#1 Acme Corp" in e.text)
    assert deal_count(bot) == 2
    assert (
        bot.slack.click(ALICE, DEFAULT_CHANNEL, warning.ts, Action.DELETE_DUPLICATE).status == 200
    )
    idle(bot)
    assert deal_count(bot) == 1
    assert must(bot, 1).name == "Acme Corp"
