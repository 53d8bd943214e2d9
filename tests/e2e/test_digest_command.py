"""`/deal digest preview` and `/deal digest send`."""

from __future__ import annotations

from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID
from storage.services import service_in
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, BOB, wait


def ephemerals(bot: Bot, user: str) -> str:
    return "\n".join(e.text for e in bot.fake.ephemerals(user))


def test_preview_is_private_and_send_is_for_admins(bot: Bot) -> None:
    with bot.db.session_scope() as s:
        p = service_in(s, DEFAULT_TEAM_ID, clock=bot.clock)
        p.set_channel(DEFAULT_CHANNEL)
        p.create("Acme", actor=ALICE)
    bot.slack.command(BOB, "digest preview")
    wait(bot, lambda: "Weekly pipeline" in ephemerals(bot, BOB))
    assert bot.fake.messages(DEFAULT_CHANNEL) == []
    bot.slack.command(BOB, "digest send")  # Bob is not an admin
    wait(bot, lambda: "Only pipeline admins can post the digest" in ephemerals(bot, BOB))
    assert bot.fake.messages(DEFAULT_CHANNEL) == []
    bot.slack.command(ALICE, "digest send")
    wait(bot, lambda: "The weekly digest is posted" in ephemerals(bot, ALICE))
    [message] = bot.fake.messages(DEFAULT_CHANNEL)
    assert message.text.startswith("Weekly pipeline")
    wait(bot, lambda: any(f.completed for f in bot.fake.files))


def test_send_without_a_channel_says_how_to_set_one(bot: Bot) -> None:
    bot.slack.command(ALICE, "digest send")
    wait(bot, lambda: "config channel #sales" in ephemerals(bot, ALICE))
