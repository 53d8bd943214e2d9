"""The buttons on a daily reminder act on their deal like the card's do."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from pipeline.types import DealStatus
from sandbox.slack_api import DEFAULT_CHANNEL
from scheduler.sender import Outcome
from tests.e2e.conftest import Bot
from tests.e2e.helpers import ALICE, must, quiet_deals, scheduler_for, wait
from views.ids import Action


def poll(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a database change that the fake Slack sees no call for."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def post_reminder(bot: Bot) -> str:
    """Two quiet deals, then the morning run; returns the reminder's ts."""
    quiet_deals(bot)
    assert Outcome.SENT in scheduler_for(bot).tick()
    return bot.fake.messages(DEFAULT_CHANNEL)[0].ts


def test_reminder_buttons_push_pick_advance_and_snooze(bot: Bot) -> None:
    ts = post_reminder(bot)
    bot.slack.click(ALICE, DEFAULT_CHANNEL, ts, Action.PUSH_CLOSE, block_id="reminder:1:1")
    poll(lambda: must(bot, 1).close_date == date(2026, 12, 17))
    bot.slack.click(
        ALICE,
        DEFAULT_CHANNEL,
        ts,
        Action.PUSH_CLOSE_PICK,
        value="2027-01-15",
        block_id="reminder:1:1",
    )
    # The reminder still shows version 1 of #1: the pick is refused as out of date.
    wait(bot, lambda: any("changed since" in e.text for e in bot.fake.ephemerals(ALICE)))
    assert must(bot, 1).close_date == date(2026, 12, 17)
    bot.slack.click(ALICE, DEFAULT_CHANNEL, ts, Action.ADVANCE, block_id="reminder:2:1")
    poll(lambda: must(bot, 2).stage == "qualified")
    assert must(bot, 2).status == DealStatus.OPEN
    replies = wait(bot, lambda: bot.fake.thread(DEFAULT_CHANNEL, ts))
    assert any("#2" in r.text for r in replies)
