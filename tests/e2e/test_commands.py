"""Every /deal subcommand over signed HTTP against the fake Slack."""

from __future__ import annotations

import time

from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_USER
from tests.e2e.conftest import Bot

ALICE = DEFAULT_USER


def wait_for(predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """Poll until the bot's after-ack work shows up at the fake."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting for the bot")


def test_add_posts_a_card(bot: Bot) -> None:
    delivery = bot.slack.command(ALICE, "add Acme Corp 50k proposal close:next friday")
    assert delivery.status == 200
    messages = wait_for(lambda: bot.fake.messages(DEFAULT_CHANNEL))
    assert "#1 Acme Corp" in messages[0].text
    assert "$50,000" in messages[0].text
