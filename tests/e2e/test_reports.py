"""/deal pipeline, stats and export over signed HTTP against the fake Slack."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pipeline.money import Money
from pipeline.service import PipelineService
from sandbox.slack_api import DEFAULT_CHANNEL, DEFAULT_TEAM_ID, DEFAULT_USER, Ephemeral
from storage.services import service_in
from storage.transfer import export_csv
from tests.e2e.conftest import Bot

ALICE = DEFAULT_USER
BOB = "U0BOB"


def usd(amount: int) -> Money:
    return Money(Decimal(amount), "USD")


def write(bot: Bot, change: Callable[[PipelineService], Any]) -> Any:
    """Change the pipeline directly, as an earlier command would have."""
    with bot.db.session_scope() as s:
        return change(service_in(s, DEFAULT_TEAM_ID, clock=bot.clock))


def answer(bot: Bot, user: str = ALICE, count: int = 1) -> Ephemeral:
    """The `count`-th ephemeral the user got, once the after-ack work has sent it."""
    bot.fake.wait_until(lambda: len(bot.fake.ephemerals(user)) >= count)
    return bot.fake.ephemerals(user)[count - 1]


def content(message: Ephemeral) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def seed(bot: Bot) -> None:
    """Three open deals in two stages, one in a currency without a rate, and a closed cohort."""
    write(bot, lambda p: p.create("Acme", actor=ALICE, amount=usd(50_000), stage="proposal"))
    write(bot, lambda p: p.create("Beta", actor=BOB, amount=usd(10_000), stage="demo"))
    write(
        bot,
        lambda p: p.create("Gamma", actor=ALICE, amount=Money(Decimal(900), "GBP"), stage="demo"),
    )
    for name in ("Won1", "Won2", "Lost1", "Lost2"):
        write(bot, lambda p, n=name: p.create(n, actor=ALICE, amount=usd(1_000), stage="demo"))
    bot.clock.advance(days=10)
    write(bot, lambda p: p.move("Won1", "negotiation", actor=ALICE))
    bot.clock.advance(days=10)
    write(bot, lambda p: p.win("Won1", actor=ALICE))
    write(bot, lambda p: p.win("Won2", actor=ALICE))
    write(bot, lambda p: p.lose("Lost1", "price", actor=ALICE))
    write(bot, lambda p: p.lose("Lost2", "timing", actor=ALICE))
    bot.clock.advance(hours=1)


# --- pipeline -------------------------------------------------------------------------------


def test_pipeline_shows_open_deals_by_stage_to_the_asker_only(bot: Bot) -> None:
    seed(bot)
    delivery = bot.slack.command(ALICE, "pipeline")
    assert delivery.status == 200
    message = answer(bot)
    assert message.text == "Open pipeline: 3 deals, $60,000 ($34,000 weighted)"
    body = content(message)
    assert "Demo" in body
    assert "Proposal" in body
    assert "1 open deal is in a currency with no rate" in body
    table = next(b["text"]["text"] for b in message.blocks if "```" in str(b.get("text")))
    demo = next(line for line in table.splitlines() if line.startswith("Demo"))
    assert demo.split() == ["Demo", "40%", "2", "$10,000", "$4,000"]
    assert bot.fake.messages(DEFAULT_CHANNEL) == []


def test_pipeline_rejects_options(bot: Bot) -> None:
    bot.slack.command(ALICE, "pipeline mine")
    message = answer(bot)
    assert message.text.startswith(":warning:")
    assert "Example: `pipeline`" in message.text


def test_pipeline_of_a_new_team_is_empty_and_creates_nothing(bot: Bot) -> None:
    bot.slack.command(BOB, "pipeline")
    assert answer(bot, BOB).text == "Open pipeline: 0 deals, $0 ($0 weighted)"


# --- stats ----------------------------------------------------------------------------------


def test_stats_report_win_rate_funnel_and_calibration(bot: Bot) -> None:
    seed(bot)
    bot.slack.command(ALICE, "stats 30d")
    message = answer(bot)
    assert message.text == (
        "Stats, last 30 days: win rate 50% (2 won, 2 lost), average won $1,000, "
        "median 20 days to win."
    )
    body = content(message)
    assert "*Funnel*" in body
    assert "*Days in stage*" in body
    funnel = next(b["text"]["text"] for b in message.blocks if "*Funnel*" in str(b.get("text")))
    rows = {line.split()[0]: line.split() for line in funnel.splitlines()[2:-1]}
    # Four deals reached demo, two were lost there; one went on to negotiation and won.
    assert rows["Demo"][1:6] == ["4", "50%", "50%", "50%", "40%"]
    assert rows["Negotiation"][1:6] == ["2", "100%", "0%", "100%", "80%"]


def test_stats_windows(bot: Bot) -> None:
    seed(bot)
    bot.slack.command(ALICE, "stats quarter")
    assert answer(bot).text.startswith("Stats, this quarter (since 1 Oct 2026): win rate 50%")
    bot.slack.command(ALICE, "stats 2026-07-01 2026-09-30")
    assert answer(bot, count=2).text == "Stats, 1 Jul 2026 – 30 Sep 2026: no deal closed."
    bot.slack.command(ALICE, "stats")
    assert answer(bot, count=3).text.startswith("Stats, last 90 days: win rate 50%")


def test_stats_explain_a_bad_window(bot: Bot) -> None:
    bot.slack.command(ALICE, "stats fortnight-ish")
    message = answer(bot)
    assert message.text.startswith(":warning:")
    assert "is not a window I understand" in message.text
    assert "Example: `stats quarter`" in message.text


def test_stats_answer_after_the_ack_even_when_slack_is_slow(bot: Bot) -> None:
    seed(bot)
    bot.fake.delay("response_url", 3.5)
    delivery = bot.slack.command(ALICE, "stats")
    assert delivery.elapsed < 2
    bot.fake.wait_until(lambda: bot.fake.ephemerals(ALICE), timeout=10)
    bot.fake.delay("response_url", 0)


# --- export ---------------------------------------------------------------------------------


def test_export_uploads_the_csv_to_a_dm(bot: Bot) -> None:
    seed(bot)
    write(bot, lambda p: p.create('Café "Zoë", Ltd', actor=ALICE, amount=usd(7)))
    bot.slack.command(ALICE, "export")
    message = answer(bot)
    assert "I sent you the export" in message.text
    [upload] = bot.fake.files
    assert upload.completed
    dm = bot.fake.dm_channel(ALICE)
    assert upload.channels == [dm]
    assert upload.filename == "pipeline-2026-12-17.csv"
    with bot.db.read_scope() as s:
        expected = export_csv(s, DEFAULT_TEAM_ID)
    assert upload.data == ("\ufeff" + expected).encode("utf-8")
    rows = list(csv.DictReader(io.StringIO(upload.data.decode("utf-8-sig"))))
    assert len(rows) == 8
    assert rows[-1]["name"] == 'Café "Zoë", Ltd'
    [posted] = bot.fake.messages(dm)
    assert posted.files == [upload.id]
    assert "8 deals" in posted.text


def test_export_of_an_empty_team_sends_the_header(bot: Bot) -> None:
    bot.slack.command(BOB, "export")
    answer(bot, BOB)
    [upload] = bot.fake.files
    assert upload.data is not None
    assert upload.data.decode("utf-8-sig").startswith("number,name,amount")
    assert bot.fake.messages(bot.fake.dm_channel(BOB))[0].text.endswith("0 deals.")


def test_export_upload_happens_after_the_ack(bot: Bot) -> None:
    bot.fake.delay("file_upload", 3.5)
    delivery = bot.slack.command(ALICE, "export")
    assert delivery.elapsed < 2
    bot.fake.wait_until(lambda: any(f.completed for f in bot.fake.files), timeout=10)
    answer(bot)
    bot.fake.delay("file_upload", 0)


def test_export_failure_is_apologised_for(bot: Bot) -> None:
    bot.fake.fail_next("files.completeUploadExternal", error="internal_error")
    bot.slack.command(ALICE, "export")
    message = answer(bot)
    assert message.text.startswith(":boom: Sorry")
    assert not any(f.completed for f in bot.fake.files)
