"""App Home over signed HTTP: published on app_home_opened, refreshed by publish_home."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from slack_sdk import WebClient

from handlers.events.home import publish_home
from pipeline.money import Money
from pipeline.service import NextStep, PipelineService, TeamDefaults
from sandbox.payloads import app_home_opened_event
from sandbox.slack_api import DEFAULT_TEAM_ID, DEFAULT_USER, View
from storage.services import service_in
from storage.unit_of_work import Pipe
from tests.e2e.conftest import TOKEN, Bot
from views.ids import Action

ALICE = DEFAULT_USER
BOB = "U0BOB"


def write(bot: Bot, change: Callable[[PipelineService], Any]) -> Any:
    with bot.db.session_scope() as s:
        return change(service_in(s, DEFAULT_TEAM_ID, clock=bot.clock))


def usd(amount: int) -> Money:
    return Money(Decimal(amount), "USD")


def home_of(bot: Bot, user: str, *, publishes: int = 1) -> View:
    """The user's Home tab once the bot has published it `publishes` times in all."""
    bot.fake.wait_until(lambda: len(bot.fake.calls_to("views.publish")) >= publishes)
    home = bot.fake.home(user)
    assert home is not None
    return home


def card_numbers(home: View) -> list[int]:
    return [
        int(b["block_id"].split(":")[1])
        for b in home.blocks
        if b["type"] == "actions" and b["block_id"].startswith("deal_actions:")
    ]


def seed(bot: Bot) -> None:
    write(bot, lambda p: p.create("Acme", actor=ALICE, amount=usd(50_000), stage="proposal"))
    write(
        bot,
        lambda p: p.create(
            "Globex",
            actor=ALICE,
            amount=usd(20_000),
            next_step=NextStep("send the contract", date(2026, 11, 20)),
        ),
    )
    write(bot, lambda p: p.create("Initech", actor=BOB, amount=usd(5_000), stage="demo"))
    write(bot, lambda p: p.create("Won deal", actor=ALICE, amount=usd(1_000)))
    write(bot, lambda p: p.win("Won deal", actor=ALICE))


def test_opening_home_publishes_my_deals_overdue_steps_and_the_team_pipeline(bot: Bot) -> None:
    seed(bot)
    delivery = bot.slack.open_home(ALICE)
    assert delivery.status == 200
    home = home_of(bot, ALICE)
    assert home.type == "home"
    # Alice's two open deals, the overdue one first; not Bob's, not the won one.
    assert card_numbers(home) == [2, 1]
    body = json.dumps(home.blocks, ensure_ascii=False)
    assert "you own 2 open deals worth $70,000" in body
    assert "*Your overdue next steps* (1)" in body
    assert "*#2 Globex*: send the contract (due Fri 20 Nov 2026)" in body
    assert "Team pipeline" in body
    assert "3 open deals · $75,000" in body
    actions = next(b for b in home.blocks if b.get("block_id") == "deal_actions:1")
    assert {e["action_id"] for e in actions["elements"]} >= {Action.ADVANCE, Action.WON}


def test_home_of_someone_without_deals(bot: Bot) -> None:
    seed(bot)
    bot.slack.open_home("U0CAROL")
    home = home_of(bot, "U0CAROL")
    assert card_numbers(home) == []
    assert "You own no open deal" in json.dumps(home.blocks)


def test_reopening_home_republishes_the_same_view(bot: Bot) -> None:
    seed(bot)
    bot.slack.open_home(ALICE)
    first = home_of(bot, ALICE)
    write(bot, lambda p: p.win("Acme", actor=ALICE))
    bot.slack.open_home(ALICE)
    second = home_of(bot, ALICE, publishes=2)
    assert second.id == first.id
    assert card_numbers(second) == [2]


def test_messages_tab_is_left_alone(bot: Bot) -> None:
    seed(bot)
    envelope = app_home_opened_event(
        user_id=ALICE, channel_id=bot.fake.dm_channel(ALICE), tab="messages"
    )
    delivery = bot.slack.send_event(envelope)
    assert delivery.status == 200
    # A later home open proves the bot had the time to (not) answer the first event.
    bot.slack.open_home(BOB)
    home_of(bot, BOB)
    assert [c.params["user_id"] for c in bot.fake.calls_to("views.publish")] == [BOB]
    assert bot.fake.home(ALICE) is None


def test_publish_home_refreshes_after_a_change(bot: Bot) -> None:
    seed(bot)
    bot.slack.open_home(ALICE)
    home_of(bot, ALICE)
    write(bot, lambda p: p.create("Hooli", actor=ALICE, amount=usd(3_000)))
    client = WebClient(token=TOKEN, base_url=bot.fake.api_url)
    pipe = Pipe(db=bot.db, tenant=DEFAULT_TEAM_ID, clock=bot.clock, defaults=TeamDefaults())
    publish_home(client, pipe, ALICE)
    home = home_of(bot, ALICE, publishes=2)
    assert sorted(card_numbers(home)) == [1, 2, 5]
    assert "you own 3 open deals worth $73,000" in json.dumps(home.blocks)


def test_home_of_a_big_pipeline_fits(bot: Bot) -> None:
    write(
        bot,
        lambda p: [p.add_stage(f"Custom stage number {i} " + "x" * 50, 50, 5) for i in range(35)],
    )
    for n in range(60):
        write(bot, lambda p, n=n: p.create(f"Deal {n} " + "y" * 150, actor=ALICE, amount=usd(n)))
    bot.slack.open_home(ALICE)
    home = home_of(bot, ALICE)
    assert len(home.blocks) <= 100
    assert 0 < len(card_numbers(home)) < 60
    assert "`/deal list mine` pages through them all" in json.dumps(home.blocks)
