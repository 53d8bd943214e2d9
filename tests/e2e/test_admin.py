"""/deal stages and /deal config over signed HTTP: shown to anyone, changed by admins only."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.service import PipelineService
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID, DEFAULT_USER, Ephemeral
from storage.models import Rate, Stage, Team
from storage.services import service_in
from tests.e2e.conftest import Bot

ALICE = DEFAULT_USER  # a Slack workspace admin in the fake
BOB = "U0BOB"  # a plain member
CAROL = "U0CAROL"


def write(bot: Bot, change: Callable[[PipelineService], Any]) -> Any:
    with bot.db.session_scope() as s:
        return change(service_in(s, DEFAULT_TEAM_ID, clock=bot.clock))


def say(bot: Bot, user: str, text: str) -> Ephemeral:
    """Type `/deal <text>` and return the ephemeral answer it gets."""
    before = len(bot.fake.ephemerals(user))
    delivery = bot.slack.command(user, text)
    assert delivery.status == 200
    bot.fake.wait_until(lambda: len(bot.fake.ephemerals(user)) > before)
    return bot.fake.ephemerals(user)[before]


def content(message: Ephemeral) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def stages(bot: Bot) -> list[tuple[str, str, int, int, int]]:
    with bot.db.read_scope() as s:
        rows = s.scalars(
            select(Stage).where(Stage.team_id == DEFAULT_TEAM_ID).order_by(Stage.position)
        )
        return [(r.key, r.name, r.position, r.probability, r.stale_days) for r in rows]


def team(bot: Bot) -> Team | None:
    with bot.db.read_scope() as s:
        found = s.get(Team, DEFAULT_TEAM_ID)
        if found is not None:
            s.expunge(found)
        return found


def settings(bot: Bot) -> dict[str, Any]:
    found = team(bot)
    assert found is not None
    with bot.db.read_scope() as s:
        rates = {r.currency: r.rate for r in s.scalars(select(Rate))}
    return {
        "channel": found.channel_id,
        "admins": found.admins,
        "reminders": found.reminders,
        "mode": found.reminder_mode,
        "digest": found.digest,
        "timezone": found.timezone,
        "currency": found.currency,
        "rates": rates,
    }


@pytest.fixture
def existing(bot: Bot) -> Bot:
    """A team that has used pipebot before (default stages, default settings)."""
    write(bot, lambda p: p.team)
    return bot


# --- stages ---------------------------------------------------------------------------------


def test_anyone_can_see_the_stages(existing: Bot) -> None:
    message = say(existing, BOB, "stages")
    assert message.text.startswith("Pipeline stages: Lead 10% 14d, Qualified 25% 14d")
    body = content(message)
    assert "negotiation" in body
    assert "Stale after" in body
    assert existing.fake.calls_to("users.info") == []


def test_admin_sets_a_stage(existing: Bot) -> None:
    message = say(existing, ALICE, "stages set demo 45% 12d")
    assert message.text == (":white_check_mark: Demo: 45% win probability, stale after 12d.")
    assert ("demo", "Demo", 2, 45, 12) in stages(existing)
    say(existing, ALICE, "stages set Demo 9d")
    assert ("demo", "Demo", 2, 45, 9) in stages(existing)


def test_admin_adds_renames_reorders_and_removes_stages(existing: Bot) -> None:
    say(existing, ALICE, "stages add Contract Sent 70% 7d before negotiation")
    assert [s[0] for s in stages(existing)] == [
        "lead", "qualified", "demo", "proposal", "contract_sent", "negotiation",
    ]  # fmt: skip
    message = say(existing, ALICE, "stages rename contract sent Paperwork")
    assert message.text == (
        ":white_check_mark: Renamed Contract Sent to Paperwork; its key `contract_sent` stays."
    )
    say(existing, ALICE, 'stages rename "Paperwork" to Legal & Paperwork')
    assert ("contract_sent", "Legal & Paperwork", 4, 70, 7) in stages(existing)
    say(existing, ALICE, "stages order negotiation contract_sent proposal demo qualified lead")
    assert [s[0] for s in stages(existing)] == [
        "negotiation", "contract_sent", "proposal", "demo", "qualified", "lead",
    ]  # fmt: skip
    message = say(existing, ALICE, "stages remove qualified")
    assert message.text == ":white_check_mark: Removed Qualified."
    assert [s[2] for s in stages(existing)] == [0, 1, 2, 3, 4]
    assert "qualified" not in [s[0] for s in stages(existing)]
    assert "Legal &amp; Paperwork" in content(message)


def test_a_stage_holding_deals_is_not_removed(existing: Bot) -> None:
    write(existing, lambda p: p.create("Acme", actor=ALICE, stage="demo"))
    before = stages(existing)
    message = say(existing, ALICE, "stages remove demo")
    assert message.text.startswith(":warning: Demo still holds 1 open deal")
    assert stages(existing) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stages set demo", "Example: `stages set demo 40% 10d`"),
        ("stages set demo 40", '"40" needs a unit'),
        ("stages add Verbal 90%", "needs its win probability and its stale threshold"),
        ("stages add Won 90% 5d", "reserved"),
        ("stages set demo 140% 5d", "percentage from 0 to 100"),
        ("stages set nosuch 40%", 'There is no stage "nosuch"'),
        ("stages order lead demo", "Name every stage exactly once"),
        ("stages frobnicate", "is not a stages command"),
        ("stages rename demo", "Give the stage, then its new name"),
    ],
)
def test_bad_stage_commands_explain_and_change_nothing(
    existing: Bot, text: str, expected: str
) -> None:
    before = stages(existing)
    message = say(existing, ALICE, text)
    assert message.text.startswith(":warning:")
    assert expected in message.text
    assert stages(existing) == before


@pytest.mark.parametrize(
    "text",
    [
        "stages set demo 45% 12d",
        "stages add Verbal 90% 5d",
        "stages rename demo Product Demo",
        "stages remove lead",
        "stages order negotiation proposal demo qualified lead",
    ],
)
def test_non_admins_cannot_change_stages(existing: Bot, text: str) -> None:
    before = stages(existing)
    message = say(existing, BOB, text)
    assert message.text.startswith(":warning: Only pipeline admins can change the pipeline stages")
    assert stages(existing) == before
    assert [c.params["user"] for c in existing.fake.calls_to("users.info")] == [BOB]


def test_refusing_a_new_team_writes_nothing(bot: Bot) -> None:
    say(bot, BOB, "stages add Verbal 90% 5d")
    assert team(bot) is None
    assert stages(bot) == []


# --- config ---------------------------------------------------------------------------------


def test_anyone_can_see_the_settings(existing: Bot) -> None:
    message = say(existing, BOB, "config")
    body = content(message)
    assert message.text.startswith("pipebot settings: no channel, UTC, USD")
    assert "09:00 mon-fri" in body
    assert "mon 09:00" in body
    assert "Slack workspace admins and owners" in body


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("config channel here", "channel", DEFAULT_CHANNEL),
        ("config channel <#C0GENERAL|general>", "channel", "C0GENERAL"),
        ("config channel <#C0PRIVATE|>", "channel", "C0PRIVATE"),
        ("config reminders 8:30 Monday, Wednesday, Friday", "reminders", "08:30 mon,wed,fri"),
        ("config reminders 09:00 daily", "reminders", "09:00 daily"),
        ("config reminders off", "reminders", "off"),
        ("config reminders dm", "mode", "dm"),
        ("config reminders channel + dm", "mode", "channel+dm"),
        ("config reminders mode off", "mode", "off"),
        ("config digest friday 4:30pm", "digest", "fri 16:30"),
        ("config digest off", "digest", "off"),
        ("config timezone europe/paris", "timezone", "Europe/Paris"),
        ("config currency eur", "currency", "EUR"),
        ("config rate gbp 1.17", "rates", {"GBP": Decimal("1.17")}),
        ("config admins <@U0BOB|bob> <@U0CAROL|carol>", "admins", [BOB, CAROL]),
    ],
)
def test_admin_changes_a_setting(existing: Bot, text: str, key: str, value: Any) -> None:
    before = settings(existing)
    message = say(existing, ALICE, text)
    assert message.text.startswith(":white_check_mark:"), message.text
    after = settings(existing)
    assert after[key] == value
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }


def test_confirmation_shows_the_new_settings(existing: Bot) -> None:
    message = say(existing, ALICE, "config reminders 8:30 mon,wed,fri")
    assert message.text == ":white_check_mark: Reminders: 08:30 mon,wed,fri."
    body = content(message)
    assert "pipebot settings" in body
    # Next: Monday 30 Nov 08:30 UTC, as a date each reader sees in their own timezone.
    assert "next <!date^1796027400^" in body


def test_channel_set_in_a_dm_is_refused(existing: Bot) -> None:
    dm = existing.fake.dm_channel(ALICE)
    existing.slack.command(ALICE, "config channel here", channel_id=dm)
    existing.fake.wait_until(lambda: existing.fake.ephemerals(ALICE))
    [message] = existing.fake.ephemerals(ALICE)
    assert "must be a channel, not a direct message" in message.text
    assert settings(existing)["channel"] is None


def test_a_listed_admin_need_not_be_a_workspace_admin(existing: Bot) -> None:
    say(existing, ALICE, "config admins <@U0BOB|bob>")
    calls = len(existing.fake.calls_to("users.info"))
    message = say(existing, BOB, "config timezone Asia/Tokyo")
    assert message.text == ":white_check_mark: Time zone: Asia/Tokyo."
    assert len(existing.fake.calls_to("users.info")) == calls
    message = say(existing, BOB, "config admins <@U0CAROL>")
    assert "You are not in the list any more" in message.text
    assert settings(existing)["admins"] == [CAROL]
    say(existing, ALICE, "config admins none")
    assert settings(existing)["admins"] == []


@pytest.mark.parametrize(
    "text",
    [
        "config channel here",
        "config reminders 10:00 daily",
        "config reminders dm",
        "config digest off",
        "config timezone Europe/Paris",
        "config currency EUR",
        "config rate EUR 1.08",
        "config admins <@U0BOB|bob>",
    ],
)
def test_non_admins_cannot_change_settings(existing: Bot, text: str) -> None:
    before = settings(existing)
    message = say(existing, BOB, text)
    assert message.text.startswith(":warning: Only pipeline admins can change the settings")
    assert settings(existing) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config channel #nowhere", "Slack did not link #nowhere to a channel"),
        ("config channel", "Example: `config channel #sales`"),
        ("config reminders 25:00 mon", "Example: `09:00`"),
        ("config reminders 09:00 funday", "Example: `09:00 mon-fri`"),
        ("config reminders email", "Example: `09:00 mon-fri`"),
        ("config digest mon-fri 09:00", "Example: `mon 09:00`"),
        ("config timezone Mars/Olympus", "Example: `Europe/Paris`"),
        ("config currency XYZ", "Example: `EUR`"),
        ("config rate EUR", "Example: `config rate USD 0.92`"),
        ("config rate EUR abc", '"abc" is not a number'),
        ("config rate EUR -1", "A rate is a positive number"),
        ("config admins @bob", "Mention each admin"),
        ("config colour blue", "is not a setting"),
    ],
)
def test_bad_settings_explain_and_change_nothing(existing: Bot, text: str, expected: str) -> None:
    before = settings(existing)
    message = say(existing, ALICE, text)
    assert message.text.startswith(":warning:")
    assert expected in message.text
    assert settings(existing) == before
